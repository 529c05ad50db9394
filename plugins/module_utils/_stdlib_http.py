# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small HTTP client on the standard library only, for the credential helper (internal use only).

- Every socket operation has ``timeout`` seconds, and a whole answer must arrive within ``timeout`` too: a
  metadata service that never answers fails in seconds, not minutes. A request that timed out is not retried.
- 429, 500, 502, 503, 504 and refused or reset connections are retried ``retries`` times, with backoff;
  Retry-After is respected but capped at MAX_RETRY_AFTER.
- TLS: the system CAs, or only the CA file ``ca_path``; ``validate_certs: false`` turns verification off.
- Proxies: the standard variables (https_proxy, no_proxy...) apply, except to link-local addresses (the VPC
  metadata service) and to requests made with ``proxy=False``. Redirects are never followed.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import math
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, NamedTuple

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 10.0
BACKOFF = 0.5
MAX_BODY = 1024 * 1024
USER_AGENT = 'docker-credential-icr'


class TransportError(IcrAuthError):
    """A service could not be reached or did not answer in time (the message names it and the cause)."""


class Response(NamedTuple):
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as it is (a token request is never sent on to another host)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


def is_link_local(host: str) -> bool:
    """True for 169.254.0.0/16 and fe80::/10 addresses (never sent through a proxy)."""
    try:
        return ipaddress.ip_address(host.strip('[]')).is_link_local
    except ValueError:
        return False


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After value asks for (seconds or an HTTP date), capped at MAX_RETRY_AFTER; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Transport(object):
    """Send requests with timeouts, bounded retries, the chosen CAs and no proxy surprises."""

    def __init__(self, timeout: float = 5.0, retries: int = 1, validate_certs: bool = True, ca_path: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff: float = BACKOFF) -> None:
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.backoff = backoff
        self._sleep = sleep
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            if not self.validate_certs:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            else:
                try:
                    context = ssl.create_default_context(cafile=self.ca_path)
                except (OSError, ssl.SSLError) as exc:
                    raise TransportError(f'ca_path: cannot load CA certificates from {self.ca_path}: '
                                         f'{getattr(exc, "strerror", None) or exc}. Give a readable PEM file.')
            self._context = context
        return self._context

    def _opener(self, host: str, proxy: bool) -> urllib.request.OpenerDirector:
        proxies = urllib.request.getproxies() if proxy and not is_link_local(host) else {}
        return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirect(),
                                           urllib.request.HTTPSHandler(context=self.context()))

    def request(self, method: str, url: str, what: str, headers: dict | None = None, body: bytes | None = None,
                proxy: bool = True) -> Response:
        """The answer of ``what`` (a service name for messages) at url; TransportError if it cannot be had."""
        host = urllib.parse.urlsplit(url).hostname or ''
        opener = self._opener(host, proxy)
        all_headers = {'User-Agent': USER_AGENT, 'Accept': 'application/json'}
        all_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            delay = None
            try:
                response = self._once(opener, method, url, all_headers, body)
                if response.status not in RETRY_STATUSES or attempt > self.retries:
                    return response
                delay = retry_after(response.headers.get('retry-after'))
            except TransportError:
                raise
            except (socket.timeout, TimeoutError):
                raise TransportError(self._timed_out(what, url, attempt)) from None
            except ssl.SSLError as exc:
                raise TransportError(self._tls(what, url, exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, 'reason', exc)
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise TransportError(self._timed_out(what, url, attempt)) from None
                if isinstance(reason, ssl.SSLError):
                    raise TransportError(self._tls(what, url, reason)) from None
                if attempt > self.retries:
                    raise TransportError(f'{what} at {url} could not be reached ({_attempts(attempt)}): '
                                         f'{_text(reason)}. Check the endpoint, the network and the proxy '
                                         'settings.') from None
            if delay is None:
                delay = self.backoff * (2 ** (attempt - 1))
            self._sleep(delay)

    def _once(self, opener: urllib.request.OpenerDirector, method: str, url: str, headers: dict,
              body: bytes | None) -> Response:
        deadline = time.monotonic() + self.timeout
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            answer = opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            answer = exc
        try:
            status = answer.getcode() if hasattr(answer, 'getcode') else answer.code
            names = dict((k.lower(), v) for k, v in (answer.headers or {}).items())
            chunks = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise socket.timeout('the answer took too long')
                chunk = answer.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BODY:
                    raise TransportError(f'The answer from {url} is larger than {MAX_BODY} bytes; check the endpoint.')
                chunks.append(chunk)
        finally:
            answer.close()
        return Response(int(status), names, b''.join(chunks))

    def _timed_out(self, what: str, url: str, attempt: int) -> str:
        return (f'{what} at {url} did not answer within {self.timeout:g} seconds ({_attempts(attempt)}). Check the '
                'endpoint and the network path, or raise timeout.')

    def _tls(self, what: str, url: str, exc: ssl.SSLError) -> str:
        hint = ('give ca_path with the CA that signed its certificate' if self.ca_path is None
                else f'check that ca_path ({self.ca_path}) holds the CA that signed its certificate')
        return f'TLS with {what} at {url} failed: {_text(exc)}; {hint}.'


def _attempts(count: int) -> str:
    return f"{count} attempt{'' if count == 1 else 's'}"


def _text(reason: object) -> str:
    text = getattr(reason, 'strerror', None) or getattr(reason, 'reason', None) or str(reason) or type(reason).__name__
    return str(text).rstrip('.')
