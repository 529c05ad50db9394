# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: result_file
type: aggregate
short_description: Write every task result as JSON lines to a file (tests only)
description:
  - Appends one JSON line per host and task to the file named by E(ICR_TEST_RESULT_FILE).
requirements:
  - The environment variable E(ICR_TEST_RESULT_FILE).
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'result_file'
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get('ICR_TEST_RESULT_FILE')
        if not path:
            return
        record = {'host': result._host.get_name(), 'task': result._task.get_name(), 'status': status,
                  'result': self._clean(result._result)}
        with open(path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    @staticmethod
    def _clean(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')
