# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A stateful IAM account on 127.0.0.1 for unit tests of the IAM management code (token, Identity and Policy APIs).

Like fake_http.FakeServer it records every request; beside that it keeps service IDs, API keys and policies, pages
its lists (page size forced small with ``page``), checks If-Match, answers 409 policy_conflict_error for a policy
equal to one it has, and can hide a new policy from reads (``unreadable_reads``) and lists (``list_lag``).
``faults`` is a list of (method, path prefix, status, headers, body) answered once each, before anything else.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
import uuid

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

ADMIN_KEY = 'AdminKeyAdminKeyAdminKeyAdminKeyAdminKey_-xy'
ACCOUNT = 'acc0123456789abcdef0123456789abcd'
PROFILE_ID = 'Profile-0b6f2e3c-1d2a-4b5c-8d9e-0f1a2b3c4d5e'
PROFILE_NAME = 'iam-admins'
PROFILE_CRN = 'crn:v1:bluemix:public:iam-identity::a/%s::profile:%s' % (ACCOUNT, PROFILE_ID)
CR_TOKEN = 'crtoken.pod.Q2VjcmV0Q3JUb2tlblZhbHVlU2hvdWxkTmV2ZXJMZWFr'


class FakeIam(object):
    def __init__(self, page: int = 2) -> None:
        self.page = page
        self.requests = []
        self.service_ids = {}
        self.apikeys = {}
        self.policies = {}
        self.etags = {}
        self.faults = []
        self.unreadable_reads = 0
        self.list_lag = 0  # number of newest policies the list does not show yet
        self.key_values = []
        self.key_by_value = {}  # value -> key id, for GET /v1/apikeys/details
        # trusted profile PROFILE_ID / PROFILE_NAME, trusting the admin key, linked to the compute resource CR_TOKEN
        self.cr_token = CR_TOKEN
        self.grants = []
        # namespaces of ACCOUNT per registry host (GET /<host>/api/v1/namespaces); None: any other
        self.namespaces = {None: ['web', 'base', 'apps']}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                url = urllib.parse.urlparse(self.path)
                query = dict((k, v[0]) for k, v in urllib.parse.parse_qs(url.query).items())
                server.requests.append({'method': self.command, 'path': url.path, 'query': query,
                                        'headers': dict(self.headers), 'body': raw})
                status, headers, body = server.route(self.command, url.path, query, dict(self.headers), raw)
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True)
        self.lock = threading.Lock()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # what tests look at

    def writes(self, prefix='/v1/'):
        return [(r['method'], r['path']) for r in self.requests if r['method'] != 'GET' and r['path'].startswith(prefix)]

    def policies_of(self, iam_id):
        return [p for p in self.policies.values() if p['subjects'][0]['attributes'][0]['value'] == iam_id]

    def add_service_id(self, name, locked=False, description='', account=ACCOUNT):
        sid = 'ServiceId-' + str(uuid.uuid4())
        self.service_ids[sid] = {'id': sid, 'iam_id': 'iam-' + sid, 'crn': 'crn:v1:bluemix:public:iam-identity::a/%s::'
                                 'serviceid:%s' % (account, sid), 'name': name, 'description': description,
                                 'account_id': account, 'locked': locked}
        self.etags[sid] = '1-' + sid[-6:]
        return self.service_ids[sid]

    def add_api_key(self, iam_id, name, disabled=False, locked=False, expires_at=None):
        """A key of iam_id made directly; returns its value."""
        key_id = 'ApiKey-' + str(uuid.uuid4())
        value = 'val' + uuid.uuid4().hex + uuid.uuid4().hex[:12]
        self.key_values.append(value)
        self.apikeys[key_id] = {'id': key_id, 'iam_id': iam_id, 'name': name, 'account_id': ACCOUNT, 'description': '',
                                'created_at': '2026-12-01T13:00+0000', 'expires_at': expires_at, 'locked': locked,
                                'disabled': disabled}
        self.key_by_value[value] = key_id
        self.etags[key_id] = '1-' + key_id[-6:]
        return value

    def add_policy(self, iam_id, roles, attrs):
        pid = str(uuid.uuid4())
        self.policies[pid] = {'id': pid, 'type': 'access',
                              'subjects': [{'attributes': [{'name': 'iam_id', 'value': iam_id}]}],
                              'roles': [{'role_id': 'crn:v1:bluemix:public:container-registry::::serviceRole:' + r}
                                        for r in roles],
                              'resources': [{'attributes': [{'name': n, 'value': v, 'operator': 'stringEquals'}
                                                            for n, v in attrs]}]}
        self.etags[pid] = 'W/"1-%s"' % pid[:6]
        return self.policies[pid]

    # the service

    def route(self, method, path, query, headers, raw):
        with self.lock:
            for fault in list(self.faults):
                if fault[0] == method and path.startswith(fault[1]):
                    self.faults.remove(fault)
                    return fault[2], fault[3], fault[4]
            body = json.loads(raw) if raw.startswith(b'{') else {}
            if path == '/identity/token':
                form = dict((k, v[0]) for k, v in urllib.parse.parse_qs(raw.decode()).items())
                self.grants.append(form.get('grant_type'))
                if form.get('grant_type') != 'urn:ibm:params:oauth:grant-type:apikey':
                    return self._profile_grant(form)
                if form.get('apikey', '') != ADMIN_KEY:
                    return 400, {}, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.'}
                return 200, {}, {'access_token': iam_token('IBMid-admin', account=ACCOUNT), 'expires_in': 3600}
            if not headers.get('Authorization', '').startswith('Bearer '):
                return 401, {}, {'errors': [{'code': 'unauthorized', 'message': 'no token'}], 'trace': 't-401'}
            if path.endswith('/api/v1/namespaces'):
                return self._namespaces(headers, path[:-len('/api/v1/namespaces')].strip('/') or None)
            if path.startswith('/v1/serviceids/'):
                return self._serviceids(method, path[len('/v1/serviceids/'):], query, headers, body)
            if path.startswith('/v1/apikeys'):
                return self._apikeys(method, path[len('/v1/apikeys'):].strip('/'), query, headers, body)
            if path.startswith('/v1/policies'):
                return self._policies(method, path[len('/v1/policies'):].strip('/'), query, headers, body)
            return 404, {}, {'errors': [{'code': 'not_found', 'message': path}]}

    def _profile_grant(self, form):
        profile_token = {'access_token': iam_token('iam-' + PROFILE_ID, account=ACCOUNT), 'expires_in': 3600,
                         'refresh_token': 'not_supported'}
        missing = {'errorCode': 'BXNIM0109E', 'errorMessage': 'Property missing or empty.'}
        if form.get('grant_type') == 'urn:ibm:params:oauth:grant-type:assume':
            if not form.get('access_token', '').startswith('ey'):
                return 400, {}, missing
            given = [n for n in ('profile_id', 'profile_crn', 'profile_name') if form.get(n)]
            if len(given) != 1 or (given == ['profile_name'] and not form.get('account')):
                return 400, {}, missing
            if (form.get('profile_id') or form.get('profile_crn') or form.get('profile_name')) not in (
                    PROFILE_ID, PROFILE_CRN, PROFILE_NAME) or form.get('account', ACCOUNT) != ACCOUNT:
                return 400, {}, {'errorCode': 'BXNIM0441E', 'errorMessage': 'Trusted profile not found.'}
            return 200, {}, profile_token
        if form.get('grant_type') == 'urn:ibm:params:oauth:grant-type:cr-token':
            if not form.get('profile_id') and not form.get('profile_name'):
                return 400, {}, missing
            if form.get('cr_token') != self.cr_token:
                return 400, {}, {'errorCode': 'BXNIM0440E', 'errorMessage': 'Provided compute resource token is invalid.'}
            if form.get('profile_id', PROFILE_ID) != PROFILE_ID or form.get('profile_name', PROFILE_NAME) != PROFILE_NAME:
                return 403, {}, {'errorCode': 'BXNIM0443E', 'errorMessage': 'Not linked.'}
            return 200, {}, profile_token
        return 400, {}, {'errorCode': 'BXNIM0106E', 'errorMessage': 'Validation of property grant_type failed.'}

    def _namespaces(self, headers, host):
        if not headers.get('Authorization', '').startswith('Bearer ey'):
            return 401, {}, {'code': 'CRG0001E', 'message': 'You are not authorized'}
        if not headers.get('Account'):
            return 400, {}, {'code': 'CRG0003E', 'message': 'Account header missing'}
        return 200, {}, list(self.namespaces.get(host, self.namespaces.get(None)) or [])

    def _paged(self, items, query, size_name, token_name, key, policy_style=False):
        size = min(int(query.get(size_name) or 20), self.page)
        start = int(query.get(token_name) or 0)
        out = {key: items[start:start + size]}
        if start + size < len(items):
            token = str(start + size)
            out['next'] = ({'href': 'x?start=' + token, 'start': token} if policy_style
                           else self.url + '/v1/x?pagetoken=' + token)
        return 200, {}, out

    def _if_match(self, eid, headers):
        tag = headers.get('If-Match')
        if not tag:
            return 400, {}, {'errors': [{'code': 'missing_if_match', 'message': 'If-Match required'}], 'trace': 't-400'}
        if tag != '*' and tag != self.etags.get(eid):
            return 412, {}, {'errors': [{'code': 'precondition_failed', 'message': 'stale'}], 'trace': 't-412'}
        return None

    def _serviceids(self, method, rest, query, headers, body):
        parts = [p for p in rest.split('/') if p]
        if not parts:
            if method == 'GET':
                items = [s for s in self.service_ids.values() if s['account_id'] == query.get('account_id')
                         and (not query.get('name') or s['name'] == query['name'])]
                return self._paged(items, query, 'pagesize', 'pagetoken', 'serviceids')
            sid = self.add_service_id(body['name'], headers.get('Entity-Lock') == 'true', body.get('description', ''),
                                      body['account_id'])
            return 201, {'ETag': self.etags[sid['id']]}, sid
        sid = self.service_ids.get(parts[0])
        if sid is None:
            return 404, {}, {'errors': [{'code': 'not_found', 'message': 'Service ID not found.'}], 'trace': 't-404'}
        if len(parts) == 2 and parts[1] == 'lock':
            sid['locked'] = method == 'POST'
            return 204, {}, b''
        if method == 'GET':
            return 200, {'ETag': self.etags[sid['id']]}, dict(sid, entity_tag=self.etags[sid['id']])
        if sid['locked']:
            return 400, {}, {'errors': [{'code': 'entity_locked', 'message': 'locked'}], 'trace': 't-lock'}
        if method == 'PUT':
            refused = self._if_match(sid['id'], headers)
            if refused:
                return refused
            sid.update(name=body.get('name', sid['name']), description=body.get('description', sid['description']))
            self.etags[sid['id']] = self.etags[sid['id']] + 'x'
            return 200, {'ETag': self.etags[sid['id']]}, sid
        del self.service_ids[sid['id']]
        for key_id in [k for k, v in self.apikeys.items() if v['iam_id'] == sid['iam_id']]:
            del self.apikeys[key_id]
        return 204, {}, b''

    def _apikeys(self, method, rest, query, headers, body):
        parts = [p for p in rest.split('/') if p]
        if not parts:
            if method == 'GET':
                items = [dict(k) for k in self.apikeys.values() if k['iam_id'] == query.get('iam_id')]
                return self._paged(items, query, 'pagesize', 'pagetoken', 'apikeys')
            key_id = 'ApiKey-' + str(uuid.uuid4())
            value = 'val' + uuid.uuid4().hex + uuid.uuid4().hex[:12]
            self.key_values.append(value)
            key = {'id': key_id, 'iam_id': body['iam_id'], 'name': body['name'], 'account_id': ACCOUNT,
                   'description': body.get('description', ''), 'created_at': '2026-12-01T13:00+0000',
                   'expires_at': body.get('expires_at'), 'locked': headers.get('Entity-Lock') == 'true',
                   'disabled': headers.get('Entity-Disable') == 'true'}
            self.apikeys[key_id] = key
            self.key_by_value[value] = key_id
            self.etags[key_id] = '1-' + key_id[-6:]
            return 201, {}, dict(key, apikey=value)
        if parts == ['details'] and method == 'GET':
            value = dict((k.lower(), v) for k, v in headers.items()).get('iam-apikey')
            key = self.apikeys.get(self.key_by_value.get(value))
            if key is None:
                return 404, {}, {'errors': [{'code': 'not_found', 'message': 'API key not found.'}], 'trace': 't-404'}
            return 200, {}, dict(key)
        key = self.apikeys.get(parts[0])
        if key is None:
            return 404, {}, {'errors': [{'code': 'not_found', 'message': 'API key not found.'}], 'trace': 't-404'}
        if len(parts) == 2:
            key['locked' if parts[1] == 'lock' else 'disabled'] = method == 'POST'
            return 204, {}, b''
        if method == 'GET':
            return 200, {'ETag': self.etags[key['id']]}, dict(key, entity_tag=self.etags[key['id']])
        if key['locked']:
            return 400, {}, {'errors': [{'code': 'entity_locked', 'message': 'locked'}], 'trace': 't-lock'}
        if method == 'PUT':
            refused = self._if_match(key['id'], headers)
            if refused:
                return refused
            key.update((k, body[k]) for k in ('name', 'description', 'expires_at') if k in body)
            self.etags[key['id']] += 'x'
            return 200, {}, key
        del self.apikeys[key['id']]
        return 204, {}, b''

    def _policies(self, method, rest, query, headers, body):
        if not rest:
            if method == 'GET':
                items = [p for p in self.policies.values()
                         if not query.get('iam_id') or p['subjects'][0]['attributes'][0]['value'] == query['iam_id']]
                if self.list_lag:
                    items = items[:-self.list_lag] if len(items) > self.list_lag else []
                return self._paged(items, query, 'limit', 'start', 'policies', policy_style=True)
            subject = body['subjects'][0]['attributes'][0]['value']
            if any(s['locked'] for s in self.service_ids.values() if s['iam_id'] == subject):
                return 400, {}, {'errors': [{'code': 'invalid_subject', 'message': 'The subject is locked.'}],
                                 'trace': 't-locked'}
            content = _content(body)
            for p in self.policies.values():
                if _content(p) == content:
                    return 409, {}, {'trace': 't-409', 'status_code': 409, 'errors': [{
                        'code': 'policy_conflict_error', 'message': 'Failed to create the policy.',
                        'details': {'conflicts_with': {'etag': self.etags[p['id']], 'role': '',
                                                       'policy': {'id': p['id'], 'href': '/v1/policies/' + p['id']}}}}]}
            attrs = [(a['name'], a['value']) for a in body['resources'][0]['attributes']]
            made = self.add_policy(subject, [r['role_id'].rsplit(':', 1)[1] for r in body['roles']], attrs)
            return 201, {'ETag': self.etags[made['id']]}, made
        policy = self.policies.get(rest)
        if policy is None or (method == 'GET' and self.unreadable_reads > 0):
            if policy is not None:
                self.unreadable_reads -= 1
            return 404, {}, {'errors': [{'code': 'policy_not_found', 'message': 'Policy was not found.'}], 'trace': 't-pnf'}
        if method == 'GET':
            return 200, {'ETag': self.etags[rest]}, policy
        if method == 'PUT':
            refused = self._if_match(rest, headers)
            if refused:
                return refused
            policy['roles'] = body['roles']
            self.etags[rest] = self.etags[rest][:-1] + 'x"'
            return 200, {'ETag': self.etags[rest]}, policy
        del self.policies[rest]
        return 204, {}, b''


def _content(policy):
    return (json.dumps(policy['subjects'], sort_keys=True), sorted(r['role_id'] for r in policy['roles']),
            sorted((a['name'], a['value']) for a in policy['resources'][0]['attributes']))
