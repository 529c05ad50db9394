# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scripted registry (a fake requests session) for the tests of _registry and _access."""

from __future__ import annotations

from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions

HOST = 'us.icr.io'
REALM = 'https://us.icr.io/oauth/token'
CHALLENGE = 'Bearer realm="%s", service="registry"' % REALM
GOOD = 'GoodGoodGoodGoodGoodGoodGoodGoodGoodGoodGo'


class Answer(object):
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = '' if body is None else str(body)
        self.content = self.text.encode()

    def json(self):
        if self._body is None:
            raise ValueError('no JSON')
        return self._body


class Registry(object):
    """A fake session: a registry with one realm, policies {repo: actions}, a token style and a denial style."""

    def __init__(self, allowed, token='opaque-token', denial='scope', bad_status=400, repos=('team-a/app',)):
        self.allowed = allowed
        self.token = token
        self.denial = denial
        self.bad_status = bad_status
        self.repos = repos
        self.calls = []

    def _refuse(self):
        return Answer(self.bad_status, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'bad'}]})

    def get(self, url, params=None, auth=None, headers=None, timeout=None, allow_redirects=True):
        self.calls.append(('GET', url, params))
        if url == 'https://%s/v2/' % HOST:
            return Answer(401, {}, {'WWW-Authenticate': CHALLENGE})
        if url == REALM:
            if auth[1] != GOOD:
                return self._refuse()
            wanted = [p[1] for p in params if p[0] == 'scope']
            for scope in wanted:
                _kind, repo, actions = scope.split(':')
                if self.denial != 'scope' and not set(actions.split(',')) <= set(self.allowed.get(repo, ())):
                    return Answer(403 if self.denial == 'realm-403' else 401, {'errors': [{'code': 'X'}]})
            return Answer(200, {'token': self.token})
        repo = url.split('/v2/', 1)[1].rsplit('/tags/list', 1)[0]
        if headers.get('Authorization') != 'Bearer ' + self.token:
            return Answer(401, {})
        if 'pull' not in self.allowed.get(repo, ()):
            return Answer(401, {'errors': [{'code': 'DENIED'}]})
        return Answer(200 if repo in self.repos else 404, {'errors': [{'code': 'NAME_UNKNOWN'}]})

    def post(self, url, headers=None, timeout=None, allow_redirects=True):
        self.calls.append(('POST', url, None))
        repo = url.split('/v2/', 1)[1].rsplit('/blobs/uploads/', 1)[0]
        if 'push' not in self.allowed.get(repo, ()):
            return Answer(401, {'errors': [{'code': 'DENIED'}]})
        return Answer(202, None, {'Location': '/v2/%s/blobs/uploads/u1' % repo})

    def delete(self, url, headers=None, timeout=None, allow_redirects=True):
        self.calls.append(('DELETE', url, None))
        return Answer(204)


OPTS = HttpOptions(retries=0, timeout=5)
