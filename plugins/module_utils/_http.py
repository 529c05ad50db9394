# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP sessions for IAM and registries: retries, timeouts, proxies, CA (internal use only).

``requests`` is imported only when a session is made, so that hosts which never talk to the
network need nothing beyond the standard library.
"""

from __future__ import annotations

import os

from typing import Any

from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError, InputError
from ansible_collections.icr.auth.plugins.module_utils._options import RETRIES, TIMEOUT

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
BACKOFF_FACTOR = 0.5
USER_AGENT = 'icr.auth-ansible'


class HttpOptions(object):
    """Connection options shared by every call to IAM and the registries."""

    def __init__(self, timeout: float = TIMEOUT, retries: int = RETRIES, validate_certs: bool = True,
                 ca_path: str | None = None, proxy: str | None = None, backoff_factor: float = BACKOFF_FACTOR) -> None:
        if timeout is None or timeout <= 0:
            raise InputError('timeout: give a number of seconds greater than 0.')
        if retries is None or retries < 0 or retries > 20:
            raise InputError('retries: give a whole number from 0 to 20.')
        if ca_path is not None and not os.path.isfile(ca_path):
            raise InputError(f'ca_path: {ca_path} is not a readable file of PEM certificates.')
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.proxy = proxy
        self.backoff_factor = backoff_factor

    @classmethod
    def from_params(cls, params: dict) -> HttpOptions:
        return cls(timeout=params.get('timeout', TIMEOUT), retries=params.get('retries', RETRIES),
                   validate_certs=params.get('validate_certs', True), ca_path=params.get('ca_path'),
                   proxy=params.get('proxy'))


def requests_missing_error(exc: ImportError) -> IcrAuthError:
    return IcrAuthError(f'This needs the Python library "requests" where the module runs ({exc}). Install it '
                        '(pip install requests, or the python3-requests package), or run the network part on the '
                        'controller with icr.auth.icr_credential and pass its result to icr.auth.icr_login.')


def make_session(opts: HttpOptions) -> Any:
    """A requests Session that retries 429/5xx and connection errors with backoff, honouring Retry-After."""
    try:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.exceptions import InvalidHeader, MaxRetryError
        from urllib3.util.retry import Retry
    except ImportError as exc:
        raise requests_missing_error(exc)

    class _Retry(Retry):
        """Retry that caps Retry-After (a broken server cannot stall a play for hours) and never retries TLS errors."""

        def parse_retry_after(self, retry_after: str) -> float:
            # urllib3 reads whole seconds and HTTP dates and raises on anything else (a fraction, garbage from a
            # proxy), which would end the request. Read a fraction; back off as without the header otherwise (0).
            try:
                seconds = Retry.parse_retry_after(self, retry_after)
            except InvalidHeader:
                seconds = lenient_retry_after(retry_after)
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)

        def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                      _pool: Any = None, _stacktrace: Any = None) -> Any:
            if error is not None and is_tls_error(error):
                raise MaxRetryError(_pool, url, error)
            return Retry.increment(self, method, url, response, error, _pool, _stacktrace)

    class _Session(requests.Session):
        """A session whose own CA choice wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment."""

        def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict:
            settings = requests.Session.merge_environment_settings(self, url, proxies, stream, verify, cert)
            if self.verify is not True:
                settings['verify'] = self.verify
            return settings

    kwargs = dict(total=opts.retries, connect=opts.retries, read=opts.retries, status=opts.retries,
                  backoff_factor=opts.backoff_factor, status_forcelist=RETRY_STATUSES,
                  respect_retry_after_header=True, raise_on_status=False)
    try:
        retry = _Retry(allowed_methods=frozenset(['GET', 'POST']), **kwargs)
    except TypeError:  # urllib3 < 1.26
        retry = _Retry(method_whitelist=frozenset(['GET', 'POST']), **kwargs)
    session = _Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount('https://', adapter)
    session.mount('http://', adapter)
    session.headers['User-Agent'] = USER_AGENT
    session.verify = (opts.ca_path or True) if opts.validate_certs else False
    if opts.proxy:
        session.proxies = {'http': opts.proxy, 'https': opts.proxy}
    if not opts.validate_certs:
        try:
            import urllib3
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        except (ImportError, AttributeError):
            pass
    return session


def lenient_retry_after(value: str | None) -> float:
    """Seconds of a Retry-After value urllib3 cannot read: a non-negative decimal such as 1.5, else 0 (back off)."""
    import math
    try:
        seconds = float((value or '').strip())
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def attempts_text(opts: HttpOptions) -> str:
    """'1 attempt' or 'N attempts' for the retries of opts."""
    count = opts.retries + 1
    return f"{count} attempt{'' if count == 1 else 's'}"


def describe_exception(exc: BaseException, what: str, url: str, opts: HttpOptions) -> str:
    """A clear, secret-free sentence for a requests exception."""
    import requests
    attempts = attempts_text(opts)
    if isinstance(exc, requests.exceptions.SSLError):
        hint = ('give ca_path with the CA that signed its certificate' if opts.ca_path is None
                else f'check that ca_path ({opts.ca_path}) holds the CA that signed its certificate')
        return f'TLS verification of {what} at {url} failed: {_reason(exc)}; {hint}.'
    if isinstance(exc, requests.exceptions.Timeout) or _caused_by_timeout(exc):
        return (f'{what} at {url} did not answer within {_num(opts.timeout)} seconds ({attempts}). Check the network '
                'path or raise timeout.')
    if isinstance(exc, requests.exceptions.ProxyError):
        return f'The proxy refused or failed the request to {what} at {url}: {_reason(exc)}.'
    if isinstance(exc, requests.exceptions.ConnectionError):
        return (f'{what} at {url} could not be reached ({attempts}): {_reason(exc)}. Check the endpoint, DNS, proxy '
                'and firewall.')
    return f'The request to {what} at {url} failed: {_reason(exc)}.'


def _chain(exc: BaseException | None) -> list[BaseException]:
    """exc and the reasons it wraps (requests -> urllib3 MaxRetryError -> the last error)."""
    seen = []
    while exc is not None and len(seen) < 8 and exc not in seen:
        seen.append(exc)
        inner = getattr(exc, 'reason', None)
        if inner is None and getattr(exc, 'args', None) and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        exc = inner if isinstance(inner, BaseException) else None
    return seen


def is_tls_error(exc: BaseException) -> bool:
    """True if exc is, or wraps, a TLS failure (handshake, certificate, or a peer that does not speak TLS)."""
    import ssl
    for err in _chain(exc):
        if isinstance(err, ssl.SSLError) or type(err).__name__ == 'SSLError':
            return True
    return False


def is_cert_verification_error(exc: BaseException) -> bool:
    """True if exc wraps a failed certificate verification (not merely a peer speaking plain HTTP)."""
    import ssl
    for err in _chain(exc):
        if isinstance(err, ssl.SSLCertVerificationError) or 'CERTIFICATE_VERIFY_FAILED' in str(err):
            return True
    return False


def _caused_by_timeout(exc: BaseException) -> bool:
    return any('Timeout' in type(e).__name__ or isinstance(e, TimeoutError) for e in _chain(exc))


def _num(value: float) -> str:
    return f'{value:g}'


def _reason(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception."""
    return str(_chain(exc)[-1])
