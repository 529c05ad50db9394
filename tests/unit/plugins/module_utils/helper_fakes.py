# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fakes for the unit tests of the credential helper: a recording transport, a scripted server (any method) and a
server that accepts connections and never answers."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Response
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.fake_http import FakeServer


class FakeTransport(object):
    """Answers requests from a script of (status, body) and records (method, url, headers, body, proxy)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []
        self.retries = 0
        self.timeout = 5.0

    def request(self, method, url, what, headers=None, body=None, proxy=True):
        self.requests.append({'method': method, 'url': url, 'what': what, 'headers': dict(headers or {}),
                              'body': body, 'proxy': proxy})
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return Response(status, {}, raw)


# HTTP on 127.0.0.1: each request takes the next (status, headers, body) of the script; the last repeats.
ScriptServer = FakeServer


class SilentServer(object):
    """Accepts connections on 127.0.0.1 and never answers (a hung metadata service)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def free_port_url():
    """The URL of a 127.0.0.1 port nobody listens on (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


def read_fifo_without_writer(tmp_path, name, read, error):
    """(the error read(path) raised, seconds it took) for a FIFO with no writer: a reader must refuse it at once.

    Only a guard for a broken reader that would wait for ever: a writer after 2 s lets it go on (then it fails late)."""
    fifo = tmp_path / name
    os.mkfifo(str(fifo), 0o600)
    rescue = threading.Timer(2.0, lambda: os.close(os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK)))
    rescue.start()
    started = time.monotonic()
    try:
        with pytest.raises(error) as caught:
            read(str(fifo))
    finally:
        rescue.cancel()
    return caught.value, time.monotonic() - started
