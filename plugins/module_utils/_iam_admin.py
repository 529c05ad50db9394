# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An administrator's session with the IAM Identity and Policy Management APIs (internal use only).

- The admin API key (option api_key, else IBMCLOUD_API_KEY, else IC_API_KEY) is exchanged once for a bearer token.
- 429 and 5xx answers are retried by the session (urllib3 Retry, honouring Retry-After). GET, PUT (with If-Match)
  and DELETE are retried on both; POST only on 429, which IAM answers before doing anything, so that a create that
  failed after it was done is never repeated blindly (the callers look up what exists instead).
- Every refusal becomes an IamError naming the operation, the HTTP status, IBM's error code and the request id.
"""

from __future__ import annotations

from typing import Any, Iterator

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, attempts_text, describe_exception, make_session
from ansible_collections.icr.auth.plugins.module_utils._iam import PRIVATE_ENDPOINT, PUBLIC_ENDPOINT, TOKEN_PATH, IamClient
from ansible_collections.icr.auth.plugins.module_utils._network import iam_endpoint
from ansible_collections.icr.auth.plugins.module_utils._options import API_KEY_ENV, network_spec

PAGE_SIZE = 100
MAX_PAGES = 1000
REQUEST_ID_HEADERS = ('Transaction-Id', 'X-Request-Id', 'X-Correlation-Id', 'X-Global-Transaction-Id')


def admin_spec() -> dict:
    """Options shared by the IAM management modules: the admin key and the connection options."""
    spec = dict(api_key=dict(type='str', no_log=True))
    spec.update(network_spec())
    return spec


def admin_key(params: dict, env: dict) -> str:
    """The admin API key: the api_key option, else IBMCLOUD_API_KEY, else IC_API_KEY."""
    if params.get('api_key'):
        return params['api_key']
    for name in API_KEY_ENV:
        if env.get(name):
            return env[name]
    raise InputError('api_key: no administrator API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY is set. '
                     'Pass the key of a user or service ID that may manage IAM (from a vault), or export '
                     'IBMCLOUD_API_KEY on the controller.')


def api_base(endpoint: str | None) -> str:
    """The base URL of the Identity and Policy APIs for an iam_endpoint value (public, private, or a URL)."""
    value = (endpoint or 'public').strip()
    if value == 'public':
        return PUBLIC_ENDPOINT
    if value == 'private':
        return PRIVATE_ENDPOINT
    if not (value.startswith('https://') or value.startswith('http://')):
        raise InputError(f'iam_endpoint: {value!r} is neither public, private nor an http(s) URL.')
    value = value.rstrip('/')
    if value.endswith(TOKEN_PATH):
        value = value[:-len(TOKEN_PATH)]
    return value


def _admin_retry(session: Any) -> None:
    """Let the session's Retry also retry PUT and DELETE; POST only on 429 and on failed connects (never sent)."""
    adapters = []
    for prefix in ('https://', 'http://'):
        adapter = session.get_adapter(prefix + 'x')
        if any(adapter is seen for seen in adapters):
            continue
        adapters.append(adapter)
        base = adapter.max_retries

        class _AdminRetry(type(base)):  # type: ignore[misc]
            def _is_method_retryable(self, method: str) -> bool:
                if method and method.upper() == 'POST':
                    return False
                return super()._is_method_retryable(method)

            def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
                if method and method.upper() == 'POST':
                    return status_code == 429 and bool(self.total)
                return super().is_retry(method, status_code, has_retry_after)

        methods = frozenset(['GET', 'PUT', 'DELETE', 'HEAD'])
        kwargs = dict(total=base.total, connect=base.connect, read=base.read, status=base.status,
                      backoff_factor=base.backoff_factor, status_forcelist=base.status_forcelist,
                      respect_retry_after_header=True, raise_on_status=False)
        try:
            adapter.max_retries = _AdminRetry(allowed_methods=methods, **kwargs)
        except TypeError:  # urllib3 < 1.26
            adapter.max_retries = _AdminRetry(method_whitelist=methods, **kwargs)


def request_id(response: Any, body: Any) -> str | None:
    """IBM's request id of an answer (a header, else the body's trace or context.requestId)."""
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    if isinstance(body, dict):
        context = body.get('context')
        if isinstance(context, dict) and context.get('requestId'):
            return str(context['requestId'])
        if body.get('trace'):
            return str(body['trace'])
    return None


def error_entry(body: Any) -> dict:
    """The first entry of an IBM error body's errors list (Identity and Policy APIs), or {}."""
    if isinstance(body, dict):
        errors = body.get('errors')
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
        if body.get('errorCode') or body.get('errorMessage'):
            return {'code': body.get('errorCode'), 'message': body.get('errorMessage')}
    return {}


def describe_error(doing: str, response: Any, body: Any, opts: HttpOptions) -> str:
    """A clear, secret-free sentence for an IAM refusal."""
    status = response.status_code
    entry = error_entry(body)
    codes = [str(c) for c in (entry.get('code'), entry.get('message_code')) if c]
    text = f'Could not {doing}: IAM answered HTTP {status}'
    if codes or entry.get('message'):
        text += f" ({'/'.join(codes)}{': ' if codes and entry.get('message') else ''}{entry.get('message') or ''})"
    text += '.'
    if status == 429:
        text += f' IAM is rate-limiting and still was after {attempts_text(opts)}; wait and run again.'
    elif status >= 500:
        text += f' IAM may be having trouble ({attempts_text(opts)}); run again later.'
    elif status in (401, 403):
        text += (' The administrator key (api_key) lacks the access this needs: Editor or Administrator on the IAM '
                 'Identity Service (service IDs, API keys), and Administrator on Container Registry or on IAM Access '
                 'Management (policies).')
    rid = request_id(response, body)
    if rid:
        text += f' IAM request id: {rid}.'
    return text


class Answer(object):
    """An IAM answer: status, JSON body (or None), ETag."""

    def __init__(self, response: Any) -> None:
        self.status = response.status_code
        try:
            self.body = response.json() if response.content else None
        except ValueError:
            self.body = None
        self.etag = response.headers.get('ETag')
        self.response = response


class AdminSession(object):
    """Authenticated calls to the IAM Identity and Policy APIs as the administrator."""

    def __init__(self, params: dict, env: dict, session: Any = None) -> None:
        self.endpoint = iam_endpoint(params, env)
        self.base = api_base(self.endpoint)
        self.opts = HttpOptions.from_params(params)
        self._key = admin_key(params, env)
        self._session = session
        self._token = None
        self.account_id = None

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = make_session(self.opts)
            _admin_retry(self._session)
        return self._session

    def login(self) -> None:
        """Exchange the admin key once (IamError names a refused key)."""
        if self._token is None:
            token = IamClient(self.endpoint, self.opts, session=self.session).apikey_token(self._key)
            self._token = token.access_token
            self.account_id = token.account_id

    def call(self, method: str, path: str, doing: str, params: dict | None = None, body: Any = None,
             headers: dict | None = None, ok: tuple = (200, 201, 202, 204), allow: tuple = ()) -> Answer:
        """One call; an Answer when its status is in ok or allow, else IamError naming doing."""
        import requests
        self.login()
        url = self.base + path
        sent = {'Authorization': f'Bearer {self._token}', 'Accept': 'application/json'}
        sent.update(headers or {})
        try:
            response = self.session.request(method, url, params=params, json=body, headers=sent,
                                            timeout=self.opts.timeout)
        except requests.exceptions.RequestException as exc:
            raise IamError(f"Could not {doing}: {describe_exception(exc, 'IBM Cloud IAM', url, self.opts)}")
        answer = Answer(response)
        if answer.status in ok or answer.status in allow:
            return answer
        entry = error_entry(answer.body)
        raise IamError(describe_error(doing, response, answer.body, self.opts), code=entry.get('code'),
                       status=answer.status, body=answer.body)

    def pages(self, path: str, params: dict, items: str, doing: str, token_param: str = 'pagetoken') -> Iterator[dict]:
        """Every item of a paged list: the Identity API pages with pagetoken, the Policy API with start."""
        query = dict(params)
        seen = set()
        for _page in range(MAX_PAGES):
            body = self.call('GET', path, doing, params=query).body
            body = body if isinstance(body, dict) else {}
            for item in body.get(items) or []:
                if isinstance(item, dict):
                    yield item
            token = next_token(body)
            if not token or token in seen:
                return
            seen.add(token)
            query = dict(params)
            query[token_param] = token
        raise IamError(f'Could not {doing}: IAM kept answering more pages after {MAX_PAGES}.')


def next_token(body: dict) -> str | None:
    """The token of the next page: next.start (Policy API), or the pagetoken of next's URL (Identity API)."""
    value = body.get('next')
    if isinstance(value, dict):
        if value.get('start'):
            return str(value['start'])
        value = value.get('href')
    if isinstance(value, str) and value:
        import urllib.parse
        query = urllib.parse.parse_qs(urllib.parse.urlparse(value).query)
        for name in ('pagetoken', 'start'):
            if query.get(name):
                return query[name][0]
    return None
