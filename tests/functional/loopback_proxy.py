# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A tiny HTTP proxy on loopback that counts what goes through it: forward (GET http://...) and CONNECT tunnels.

Only loopback targets are served; any other target is recorded and refused (nothing leaves the machine). With
connect='close' every CONNECT is recorded, answered 200 and closed at once (the client's TLS handshake then fails
without retries), which shows which host a client asked for without reaching it.
"""

from __future__ import annotations

import select
import socket
import threading

LOOPBACK = ('127.0.0.1', 'localhost', '::1', '[::1]')


class CountingProxy(object):
    def __init__(self, connect='tunnel'):
        self.connect = connect
        self.seen = []          # (method, target) of every request, in order
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)  # accept() wakes up to see a stop
        self.url = 'http://127.0.0.1:%d' % self._sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join(5)
        self._sock.close()

    def methods(self):
        with self._lock:
            return [method for method, _target in self.seen]

    def targets(self):
        with self._lock:
            return [target for _method, target in self.seen]

    def _accept(self):
        while not self._stop:
            try:
                conn, _addr = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            with conn:
                conn.settimeout(30)
                head = b''
                while b'\r\n\r\n' not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                head, rest = head.split(b'\r\n\r\n', 1)
                lines = head.decode('latin-1').split('\r\n')
                method, target, version = lines[0].split(' ', 2)
                with self._lock:
                    self.seen.append((method, target))
                if method == 'CONNECT':
                    self._tunnel(conn, target, rest)
                else:
                    self._forward(conn, method, target, version, lines[1:], rest)
        except (OSError, ValueError):
            return

    @staticmethod
    def _split(hostport, default_port):
        host, _sep, port = hostport.rpartition(':')
        if not host or not port.isdigit():
            return hostport, default_port
        return host, int(port)

    def _tunnel(self, conn, target, rest):
        host, port = self._split(target, 443)
        if self.connect == 'close' or host not in LOOPBACK:
            conn.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n' if self.connect == 'close'
                         else b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
            return
        with socket.create_connection((host.strip('[]'), port), timeout=30) as upstream:
            conn.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            if rest:
                upstream.sendall(rest)
            self._pipe(conn, upstream)

    def _forward(self, conn, method, target, version, headers, rest):
        if not target.startswith('http://'):
            conn.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')
            return
        hostport, _sep, path = target[len('http://'):].partition('/')
        host, port = self._split(hostport, 80)
        if host not in LOOPBACK:
            conn.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
            return
        kept = [h for h in headers if not h.lower().startswith(('connection:', 'proxy-connection:', 'keep-alive:'))]
        request = '%s /%s %s\r\n%s\r\nConnection: close\r\n\r\n' % (method, path, version, '\r\n'.join(kept))
        with socket.create_connection((host.strip('[]'), port), timeout=30) as upstream:
            upstream.sendall(request.encode('latin-1') + rest)
            self._pipe(conn, upstream)

    @staticmethod
    def _pipe(one, other):
        sockets = [one, other]
        while True:
            readable, _w, _x = select.select(sockets, [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (other if sock is one else one).sendall(data)
