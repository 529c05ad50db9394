# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Record when each task starts and ends on each host (benchmarks only)
description:
  - Keeps, in memory, the start and end time (monotonic clock of the controller) of every task on every host, and
    writes them as one JSON document to the file named by E(ICR_BENCH_TIMER_FILE) when the playbook ends.
  - Part of tests/bench (C(make bench)); never shipped in the collection.
requirements:
  - The environment variable E(ICR_BENCH_TIMER_FILE).
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = time.monotonic()
        self._tasks = []  # [{"name", "start", "hosts": {host: [start, end, status]}}]
        self._by_uuid = {}

    def _task_record(self, task):
        record = self._by_uuid.get(task._uuid)
        if record is None:
            record = {'name': task.get_name(), 'start': time.monotonic(), 'hosts': {}}
            self._by_uuid[task._uuid] = record
            self._tasks.append(record)
        return record

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_record(task)

    def v2_runner_on_start(self, host, task):
        self._task_record(task)['hosts'][host.get_name()] = [time.monotonic(), None, None]

    def _end(self, result, status):
        hosts = self._task_record(result._task)['hosts']
        entry = hosts.setdefault(result._host.get_name(), [None, None, None])
        entry[1] = time.monotonic()
        entry[2] = status

    def v2_runner_on_ok(self, result):
        self._end(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._end(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._end(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._end(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('ICR_BENCH_TIMER_FILE')
        if not path:
            return
        document = {'started': self._started, 'ended': time.monotonic(), 'tasks': self._tasks}
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(document, handle)
