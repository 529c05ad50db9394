# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An administrator's session with the IAM Identity and Policy Management APIs (internal use only).

- The administrator is an API key (option api_key, else IBMCLOUD_API_KEY, else IC_API_KEY), that key assuming the
  trusted profile admin_trusted_profile (the assume grant), or with admin_cr_token_file and no key a compute resource
  token (IKS, OpenShift, Code Engine) exchanged for admin_trusted_profile (the cr-token grant; the file is read
  again for every exchange, as the platform rotates it). The bearer token is got once per session.
- 429 and 5xx answers are retried by the session (urllib3 Retry, honouring Retry-After). GET, PUT (with If-Match)
  and DELETE are retried on both; POST only on 429, which IAM answers before doing anything, so that a create that
  failed after it was done is never repeated blindly (the callers look up what exists instead).
- Every refusal becomes an IamError naming the operation, the HTTP status, IBM's error code and the request id.
"""

from __future__ import annotations

import os
import re

from typing import Any, Callable, Iterator

from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, IcrAuthError, InputError, failure
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, attempts_text, describe_exception, make_session
from ansible_collections.icr.auth.plugins.module_utils._iam import PRIVATE_ENDPOINT, PUBLIC_ENDPOINT, TOKEN_PATH, IamClient
from ansible_collections.icr.auth.plugins.module_utils._iam_admin_login import admin_profile_token
from ansible_collections.icr.auth.plugins.module_utils._network import iam_endpoint
from ansible_collections.icr.auth.plugins.module_utils._options import API_KEY_ENV, network_spec

PAGE_SIZE = 100
MAX_PAGES = 1000
PROFILE_ID_RE = re.compile(r'^Profile-[0-9a-fA-F-]{8,64}$')
ADMIN_OPTIONS = 'api_key, admin_trusted_profile or admin_cr_token_file'
REQUEST_ID_HEADERS = ('Transaction-Id', 'X-Request-Id', 'X-Correlation-Id', 'X-Global-Transaction-Id')


def admin_spec() -> dict:
    """Options shared by the IAM management modules: the admin key and the connection options."""
    spec = dict(api_key=dict(type='str', no_log=True), admin_trusted_profile=dict(type='str'),
                admin_account=dict(type='str'), admin_cr_token_file=dict(type='path'))
    spec.update(network_spec())
    return spec


def profile_ref(params: dict) -> dict:
    """The trusted profile of admin_trusted_profile as grant parameters: profile_id, profile_crn or profile_name."""
    value = (params.get('admin_trusted_profile') or '').strip()
    if not value:
        return {}
    if PROFILE_ID_RE.match(value):
        return {'profile_id': value}
    if value.startswith('crn:'):
        if ':profile:' not in value:
            raise InputError(f'admin_trusted_profile: {value!r} is a CRN but not one of a trusted profile '
                             '(crn:v1:bluemix:public:iam-identity::a/<account id>::profile:Profile-...).')
        return {'profile_crn': value}
    if value.startswith('Profile-'):
        raise InputError(f'admin_trusted_profile: {value!r} is not a trusted profile id (Profile-<uuid>).')
    return {'profile_name': value}


def admin_mode(params: dict) -> str:
    """How the administrator authenticates: apikey, assume or cr_token (InputError for a combination that cannot work)."""
    ref = profile_ref(params)
    if params.get('admin_account') and 'profile_name' not in ref:
        raise InputError('admin_account: it only goes with admin_trusted_profile given by name (a profile id or CRN '
                         'names its account itself).')
    if params.get('admin_cr_token_file'):
        if params.get('api_key'):
            raise InputError('admin_cr_token_file and api_key: give one. With a compute resource token the '
                             'administrator is the trusted profile admin_trusted_profile and needs no API key.')
        if not ref:
            raise InputError('admin_cr_token_file: give admin_trusted_profile too, the id (Profile-...) or name of '
                             'the trusted profile the compute resource is linked to.')
        if 'profile_crn' in ref:
            raise InputError('admin_trusted_profile: with admin_cr_token_file give the profile id (Profile-...) or '
                             'name; IAM takes no CRN for a compute resource token.')
        return 'cr_token'
    if 'profile_name' in ref and not params.get('admin_account'):
        raise InputError(f"admin_trusted_profile: {ref['profile_name']!r} is a name; give admin_account too (the "
                         'account id of the profile), or give the profile id (Profile-...) or CRN.')
    return 'assume' if ref else 'apikey'


def admin_secrets(params: dict, env: dict) -> list:
    """The secrets a module must hide before it runs: the admin API key, unless a compute resource token is used."""
    return [] if admin_mode(params) == 'cr_token' else [admin_key(params, env)]


def admin_key(params: dict, env: dict) -> str:
    """The admin API key: the api_key option, else IBMCLOUD_API_KEY, else IC_API_KEY."""
    if params.get('api_key'):
        return params['api_key']
    for name in API_KEY_ENV:
        if env.get(name):
            return env[name]
    raise InputError('api_key: no administrator API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY is set. '
                     'Pass the key of a user or service ID that may manage IAM (from a vault), or export '
                     'IBMCLOUD_API_KEY on the controller. In a pod with a compute resource token, give '
                     'admin_cr_token_file and admin_trusted_profile instead.')


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
        text += (f' The administrator ({ADMIN_OPTIONS}) lacks the access this needs: Editor or Administrator on the IAM '
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

    def __init__(self, params: dict, env: dict, session: Any = None, hide: Callable[[str], None] | None = None) -> None:
        self.endpoint = iam_endpoint(params, env)
        self.base = api_base(self.endpoint)
        self.opts = HttpOptions.from_params(params)
        self.mode = admin_mode(params)
        self._profile = profile_ref(params)
        self._profile_account = params.get('admin_account')
        self._cr_token_file = params.get('admin_cr_token_file')
        self._key = admin_key(params, env) if self.mode != 'cr_token' else None
        self._hide = hide
        self._session = session
        self._token = None
        self.account_id = None
        self.iam_id = None

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = make_session(self.opts)
            _admin_retry(self._session)
        return self._session

    def login(self) -> None:
        """Get the administrator's token once (IamError names the refused option)."""
        if self._token is None:
            client = IamClient(self.endpoint, self.opts, session=self.session)
            if self.mode == 'apikey':
                token = client.apikey_token(self._key)
            else:
                token = admin_profile_token(client, self.mode, self._profile, self._profile_account,
                                            self._cr_token_file, self._key, self._hide)
            if self._hide:
                self._hide(token.access_token)
            self._token = token.access_token
            self.account_id = token.account_id
            self.iam_id = token.iam_id

    def bearer(self) -> str:
        """The administrator's bearer token (logging in first)."""
        self.login()
        return self._token

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


def run_admin_module(module: Any, run: Callable[[Any, Any], dict]) -> None:
    """Run a management module's run(module, session) and exit: the administrator's secrets hidden from every output,
    errors as fail_json, the diff only when asked for."""
    try:
        for secret in admin_secrets(module.params, os.environ):
            module.no_log_values.add(secret)
        result = run(module, AdminSession(module.params, os.environ, hide=module.no_log_values.add))
    except IcrAuthError as exc:
        module.fail_json(**failure(exc))
    if not module._diff:  # pylint: disable=protected-access
        result.pop('diff')
    module.exit_json(**result)
