# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: bench_memory
type: aggregate
short_description: Record the controller's Python memory per task (benchmarks only)
description:
  - With E(ICR_BENCH_MEMORY_FILE) set, starts tracemalloc in the controller's process when the callback loads (after
    ansible-core's imports) and records for every task the peak of the memory Python had allocated while the task ran.
  - When the task's result for the last host of the play arrives (E(ICR_BENCH_HOSTS) results), it records the
    allocation sites that hold the most memory at that moment.
  - Writes them as one JSON document to the file named by E(ICR_BENCH_MEMORY_FILE) when the playbook ends.
  - Part of tests/bench (C(make bench)); never shipped in the collection.
requirements:
  - The environment variables E(ICR_BENCH_MEMORY_FILE) and E(ICR_BENCH_HOSTS).
'''

import json
import os
import tracemalloc

from ansible.plugins.callback import CallbackBase

TOP_SITES = 3


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_memory'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hosts = int(os.environ.get('ICR_BENCH_HOSTS') or 0)
        self._tasks = []  # [{"name", "start_mb", "peak_mb", "results", "held": [{"site", "mb", "blocks"}]}]
        self._current = None
        if os.environ.get('ICR_BENCH_MEMORY_FILE') and not tracemalloc.is_tracing():
            tracemalloc.start()

    def _close(self):
        if self._current is not None and tracemalloc.is_tracing():
            self._current['peak_mb'] = tracemalloc.get_traced_memory()[1] / 1e6
        self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        if not tracemalloc.is_tracing():
            return
        self._current = {'name': task.get_name(), 'start_mb': tracemalloc.get_traced_memory()[0] / 1e6, 'peak_mb': None,
                         'results': 0, 'held': None, 'held_mb': None}
        self._tasks.append(self._current)
        tracemalloc.reset_peak()

    def _result(self):
        record = self._current
        if record is None:
            return
        record['results'] += 1
        if record['results'] == self._hosts:
            # the moment every host's result of the task is in: what holds the memory
            snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            record['held_mb'] = tracemalloc.get_traced_memory()[0] / 1e6
            record['held'] = [{'site': '%s:%d' % (stat.traceback[0].filename, stat.traceback[0].lineno),
                               'mb': stat.size / 1e6, 'blocks': stat.count}
                              for stat in snapshot.statistics('lineno')[:TOP_SITES]]

    def v2_runner_on_ok(self, result):
        self._result()

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result()

    def v2_runner_on_skipped(self, result):
        self._result()

    def v2_runner_on_unreachable(self, result):
        self._result()

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get('ICR_BENCH_MEMORY_FILE')
        if path:
            with open(path, 'w', encoding='utf-8') as handle:
                json.dump({'tasks': self._tasks}, handle)
