# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils._helper_access import prove, wanted
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import Response, TransportError

TOKEN = 'eyJhbGciOiJub25lIn0.helper-access-unit-token.c2ln'
REGISTRY_TOKEN = 'registry-token-0123456789'
HOST = 'us.icr.io'
CHALLENGE = 'Bearer realm="https://us.icr.io/oauth/token",service="registry"'


class FakeTransport(object):
    """Answers like ICR: /v2/ challenges, the realm grants `granted` scopes, the registry allows `allowed` pairs."""

    def __init__(self, granted=True, bare=200, allowed=(('team-a/app', 'pull'),), unreachable=False):
        self.granted = granted
        self.bare = bare
        self.allowed = set(allowed)
        self.unreachable = unreachable
        self.calls = []

    def request(self, method, url, what, headers=None, body=None, proxy=True):
        self.calls.append((method, url, dict(headers or {})))
        parts = urllib.parse.urlsplit(url)
        if self.unreachable:
            raise TransportError(f'{what} at {url} could not be reached (1 attempt): connection refused.')
        if parts.path == '/v2/':
            return Response(401, {'www-authenticate': CHALLENGE}, b'')
        if parts.path == '/oauth/token':
            auth = headers['Authorization'].split(' ', 1)[1]
            assert base64.b64decode(auth).decode() == 'iambearer:' + TOKEN
            scopes = urllib.parse.parse_qs(parts.query).get('scope', [])
            if scopes and not self.granted:
                return Response(401, {}, b'{"errors": [{"code": "UNAUTHORIZED"}]}')
            if not scopes and self.bare != 200:
                return Response(self.bare, {}, b'')
            return Response(200, {}, json.dumps({'token': REGISTRY_TOKEN}).encode())
        assert headers['Authorization'] == 'Bearer ' + REGISTRY_TOKEN
        repo = parts.path[len('/v2/'):].split('/tags/')[0].split('/blobs/')[0]
        if parts.path.endswith('/tags/list'):
            return Response(200 if (repo, 'pull') in self.allowed else 403, {}, b'{}')
        if method == 'POST':
            if (repo, 'push') in self.allowed:
                return Response(202, {'location': f'/v2/{repo}/blobs/uploads/abc'}, b'')
            return Response(403, {}, b'')
        if method == 'DELETE':
            return Response(204, {}, b'')
        raise AssertionError(url)


def test_wanted_pairs():
    pairs = wanted(['repository:team-a/app:pull,push', 'registry:catalog:*'])
    assert pairs == [('team-a/app', 'pull'), ('team-a/app', 'push')]


def test_a_granted_pull_is_proven_with_the_registry_itself():
    transport = FakeTransport()
    ok, msg = prove(transport, HOST, TOKEN, ['repository:team-a/app:pull'])
    assert ok and 'pull on team-a/app' in msg
    assert any(url.endswith('/v2/team-a/app/tags/list') for _m, url, _h in transport.calls)


def test_a_realm_that_refuses_the_scope_but_not_the_identity_means_a_missing_policy():
    ok, msg = prove(FakeTransport(granted=False), HOST, TOKEN, ['repository:team-a/app:pull'])
    assert not ok and 'do not grant pull on team-a/app' in msg and 'Reader (pull)' in msg and TOKEN not in msg


def test_a_refused_identity_is_told_apart():
    ok, msg = prove(FakeTransport(granted=False, bare=401), HOST, TOKEN, ['repository:team-a/app:pull'])
    assert not ok and 'refused the iambearer credential (HTTP 401)' in msg and TOKEN not in msg


def test_a_token_the_registry_refuses_for_a_repository_is_a_missing_grant():
    ok, msg = prove(FakeTransport(allowed=()), HOST, TOKEN, ['repository:team-a/app:pull'])
    assert not ok and 'do not grant pull on team-a/app' in msg


@pytest.mark.parametrize('allowed, ok', [((('team-a/app', 'pull'), ('team-a/app', 'push')), True),
                                         ((('team-a/app', 'pull'),), False)])
def test_push_starts_and_cancels_an_upload(allowed, ok):
    transport = FakeTransport(allowed=allowed)
    granted, msg = prove(transport, HOST, TOKEN, ['repository:team-a/app:pull,push'])
    assert granted is ok and TOKEN not in msg and REGISTRY_TOKEN not in msg
    deletes = [url for method, url, _h in transport.calls if method == 'DELETE']
    assert deletes == (['https://us.icr.io/v2/team-a/app/blobs/uploads/abc'] if ok else [])
    if not ok:
        assert 'do not grant push on team-a/app' in msg


def test_an_unreachable_registry_says_so():
    ok, msg = prove(FakeTransport(unreachable=True), HOST, TOKEN, ['repository:team-a/app:pull'])
    assert not ok and 'could not be reached' in msg


def test_plain_http_only_on_loopback():
    transport = FakeTransport(unreachable=True)
    prove(transport, HOST, TOKEN, ['repository:team-a/app:pull'])
    assert [url for _m, url, _h in transport.calls] == ['https://us.icr.io/v2/']
    transport = FakeTransport(unreachable=True)
    prove(transport, '127.0.0.1:5000', TOKEN, ['repository:team-a/app:pull'])
    assert [url for _m, url, _h in transport.calls] == ['https://127.0.0.1:5000/v2/', 'http://127.0.0.1:5000/v2/']


BASIC = 'Basic ' + base64.b64encode(('iambearer:' + TOKEN).encode()).decode()
BEARER = {'Authorization': 'Bearer ' + REGISTRY_TOKEN}
GRANTED = Response(200, {}, json.dumps({'token': REGISTRY_TOKEN}).encode())


class ScriptTransport(object):
    """Answers each (method, url) from a script and records every request whole: method, URL, what, headers, body."""

    def __init__(self, script, challenge=CHALLENGE):
        self.script = dict(script)
        self.script.setdefault(('GET', 'https://us.icr.io/v2/'), Response(401, {'www-authenticate': challenge}, b''))
        self.calls = []

    def request(self, method, url, what, headers=None, body=None, proxy=True):
        self.calls.append((method, url, what, headers, body))
        return self.script[(method, url)]


def test_every_request_word_for_word():
    upload = 'https://us.icr.io/v2/team-a/app/blobs/uploads/'
    transport = ScriptTransport({
        ('GET', 'https://us.icr.io/oauth/token?service=registry&scope=repository%3Ateam-a%2Fapp%3Apull%2Cpush'): GRANTED,
        ('GET', 'https://us.icr.io/v2/team-a/app/tags/list'): Response(200, {}, b'{}'),
        ('POST', upload): Response(202, {'location': '/v2/team-a/app/blobs/uploads/abc?_state=x'}, b''),
        ('DELETE', upload + 'abc?_state=x'): Response(204, {}, b''),
    })
    assert prove(transport, HOST, TOKEN, ['repository:team-a/app:pull,push']) == (
        True, 'The registry at us.icr.io grants the iambearer credential pull on team-a/app, push on team-a/app.')
    assert transport.calls == [
        ('GET', 'https://us.icr.io/v2/', 'the registry us.icr.io', None, None),
        ('GET', 'https://us.icr.io/oauth/token?service=registry&scope=repository%3Ateam-a%2Fapp%3Apull%2Cpush',
         'the token service', {'Authorization': BASIC}, None),
        ('GET', 'https://us.icr.io/v2/team-a/app/tags/list', 'the registry', BEARER, None),
        ('POST', upload, 'the registry', BEARER, b''),
        ('DELETE', upload + 'abc?_state=x', 'the registry', BEARER, None),
    ]


def test_the_bare_request_of_a_realm_with_a_query_and_no_service():
    realm = 'https://us.icr.io/oauth/token?client=x'
    transport = ScriptTransport({
        ('GET', realm + '&scope=repository%3Ateam-a%2Fapp%3Apull&scope=repository%3Ateam-b%2Fweb%3Apush'):
            Response(400, {}, b''),
        ('GET', realm): GRANTED,
    }, challenge=f'Bearer realm="{realm}"')
    assert prove(transport, HOST, TOKEN, ['repository:team-a/app:pull', 'repository:team-b/web:push']) == (
        False, 'The registry at us.icr.io accepted the iambearer credential, but its IAM policies do not grant pull on '
               'team-a/app, push on team-b/web. Give the identity the Reader (pull) or Writer (push) role on the '
               'namespace.')
    assert [(m, u, h) for m, u, _w, h, _b in transport.calls[1:]] == [
        ('GET', realm + '&scope=repository%3Ateam-a%2Fapp%3Apull&scope=repository%3Ateam-b%2Fweb%3Apush',
         {'Authorization': BASIC}),
        ('GET', realm, {'Authorization': BASIC})]


def test_the_bare_request_keeps_the_service():
    transport = ScriptTransport({
        ('GET', 'https://us.icr.io/oauth/token?service=registry&scope=repository%3Ateam-a%2Fapp%3Apull'):
            Response(403, {}, b''),
        ('GET', 'https://us.icr.io/oauth/token?service=registry'): Response(401, {}, b''),
    })
    assert prove(transport, HOST, TOKEN, ['repository:team-a/app:pull']) == (
        False, 'The token service of us.icr.io refused the iambearer credential (HTTP 401): the identity is unknown to '
               'IAM, or its token is not valid.')
    assert transport.calls[-1][1] == 'https://us.icr.io/oauth/token?service=registry'


def test_a_refused_upload_with_a_location_is_not_cancelled():
    upload = 'https://us.icr.io/v2/team-a/app/blobs/uploads/'
    transport = ScriptTransport({
        ('GET', 'https://us.icr.io/oauth/token?service=registry&scope=repository%3Ateam-a%2Fapp%3Apush'): GRANTED,
        ('POST', upload): Response(403, {'location': '/v2/team-a/app/blobs/uploads/abc'}, b''),
    })
    assert prove(transport, HOST, TOKEN, ['repository:team-a/app:push']) == (
        False, 'The registry at us.icr.io accepted the iambearer credential, but its IAM policies do not grant push on '
               'team-a/app. Give the identity the Reader (pull) or Writer (push) role on the namespace.')
    assert [c[0] for c in transport.calls] == ['GET', 'GET', 'POST']


def test_what_the_registry_and_its_token_service_answer_word_for_word():
    realm = 'https://us.icr.io/oauth/token?service=registry&scope=repository%3Ateam-a%2Fapp%3Apull'
    scopes = ['repository:team-a/app:pull']
    assert prove(ScriptTransport({('GET', 'https://us.icr.io/v2/'): Response(200, {}, b'')}), HOST, TOKEN, scopes) == (
        True, 'The registry at us.icr.io asks for no credential.')
    assert prove(ScriptTransport({('GET', 'https://us.icr.io/v2/'): Response(401, {}, b'')}), HOST, TOKEN, scopes) == (
        False, 'The registry at us.icr.io answered /v2/ with HTTP 401 and no token challenge.')
    transport = ScriptTransport({}, challenge='Bearer realm="http://us.icr.io/oauth/token",service="registry"')
    assert prove(transport, HOST, TOKEN, scopes) == (
        False, 'The registry at us.icr.io was reached over https but named a plain-http token service '
               '(http://us.icr.io/oauth/token); the credential was not sent there.')
    assert len(transport.calls) == 1
    assert prove(ScriptTransport({('GET', realm): Response(500, {}, b'')}), HOST, TOKEN, scopes) == (
        False, 'The token service of us.icr.io answered HTTP 500.')
    for body in (b'[1]', b'{"token": 123}', b'{"token": ""}', b'not json'):
        assert prove(ScriptTransport({('GET', realm): Response(200, {}, body)}), HOST, TOKEN, scopes) == (
            False, 'The token service of us.icr.io answered without a registry token.')
    transport = ScriptTransport({
        ('GET', realm): Response(200, {}, json.dumps({'access_token': REGISTRY_TOKEN}).encode()),
        ('GET', 'https://us.icr.io/v2/team-a/app/tags/list'): Response(200, {}, b'{}'),
    })
    assert prove(transport, HOST, TOKEN, scopes) == (
        True, 'The registry at us.icr.io grants the iambearer credential pull on team-a/app.')
    assert transport.calls[-1][3] == BEARER
