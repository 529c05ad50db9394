# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""verify() against scripted registries: what it proves must not depend on the token's format or the realm's status."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.icr.auth.plugins.module_utils._access import verify
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.registry_fakes import (
    CHALLENGE, GOOD, HOST, OPTS, REALM, Answer, Registry)

STYLES = [dict(token=t, denial=d, bad_status=s) for t, d, s in [
    ('opaque-token', 'scope', 400), ('a.b.c', 'scope', 401), ('opaque-token', 'realm-401', 401),
    ('opaque-token', 'realm-403', 400)]]


@pytest.mark.parametrize('style', STYLES)
def test_reader_pull_ok_push_missing(style):
    session = Registry({'team-a/app': ('pull',)}, **style)
    ok = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull'])
    assert ok.ok and ok.granted == {'team-a/app': ['pull']}, ok.msg
    push = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull,push'])
    assert not push.ok and push.reason == 'permission' and 'do not grant push on team-a/app' in push.msg, push.msg


@pytest.mark.parametrize('style', STYLES)
def test_wrong_key_is_a_credential_problem(style):
    session = Registry({'team-a/app': ('pull',)}, **style)
    wrong = verify(session, OPTS, HOST, 'iamapikey', 'x' * 44, ['repository:team-a/app:pull'])
    assert not wrong.ok and wrong.reason == 'credential' and wrong.status == style['bad_status'], wrong.msg


@pytest.mark.parametrize('style', STYLES)
def test_no_policy_is_a_permission_problem(style):
    session = Registry({}, **style)
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull'])
    assert not result.ok and result.reason == 'permission', result.msg


def test_a_token_that_claims_everything_proves_nothing():
    """A JWT whose access claim grants push (as an echoing realm would) does not make a missing push permission ok."""
    import json
    access = {'access': [{'type': 'repository', 'name': 'team-a/app', 'actions': ['pull', 'push']}]}
    claims = base64.urlsafe_b64encode(json.dumps(access).encode()).decode().rstrip('=')
    session = Registry({'team-a/app': ('pull',)}, token='eyJhbGciOiJub25lIn0.%s.sig' % claims)
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:push'])
    assert not result.ok and result.reason == 'permission'


def test_missing_repository_is_allowed_and_the_push_probe_is_cancelled():
    session = Registry({'team-a/new': ('pull', 'push')})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/new:pull,push'])
    assert result.ok and result.granted == {'team-a/new': ['pull', 'push']} and 'no such repository yet' in result.msg
    assert ('DELETE', 'https://%s/v2/team-a/new/blobs/uploads/u1' % HOST, None) in session.calls


def test_without_scopes_nothing_is_probed():
    session = Registry({})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD)
    assert result.ok
    assert [c[0] for c in session.calls] == ['GET', 'GET']


def test_messages_name_a_trusted_profile_login_as_the_profile():
    profile = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
    session = Registry({'team-a/app': ('pull',)}, token='opaque-token', denial='scope', bad_status=400)
    ok = verify(session, OPTS, HOST, profile, GOOD, ['repository:team-a/app:pull'])
    assert ok.ok and f'accepted the trusted profile {profile} credential and grants' in ok.msg, ok.msg
    push = verify(session, OPTS, HOST, profile, GOOD, ['repository:team-a/app:pull,push'])
    assert not push.ok and f'accepted the trusted profile {profile} credential, but' in push.msg, push.msg


# A scripted session that keeps every call with all its arguments, so the tests can assert exactly what was sent.

BASE = 'https://%s' % HOST
TOKEN = 'registry-token'
USER = 'iamapikey'
BASIC_FORM = base64.b64encode(('%s:%s' % (USER, GOOD)).encode()).decode()  # how a Basic header carries the key


class Scripted(object):
    """A fake requests session: answers(method, url, kwargs) gives each answer (an exception is raised)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def _call(self, method, url, kwargs):
        self.calls.append((method, url, kwargs))
        found = self.answers(method, url, kwargs)
        if isinstance(found, BaseException):
            raise found
        return found

    def get(self, url, **kwargs):
        return self._call('GET', url, kwargs)

    def post(self, url, **kwargs):
        return self._call('POST', url, kwargs)

    def delete(self, url, **kwargs):
        return self._call('DELETE', url, kwargs)


def bearer_registry(realm, registry=None):
    """/v2/ challenges for a token of REALM; realm(scopes) answers the realm, registry(method, path) the probes."""
    def answers(method, url, kwargs):
        if url == BASE + '/v2/':
            return Answer(401, {}, {'WWW-Authenticate': CHALLENGE})
        if url == REALM:
            return realm([value for key, value in kwargs['params'] if key == 'scope'])
        assert url.startswith(BASE + '/v2/'), url
        return registry(method, url[len(BASE):])
    return answers


def granting(scoped=200, bare=200, single=None):
    """A realm answering the scopes asked together with scoped, none with bare, one scope alone with single[scope]."""
    def realm(scopes):
        if not scopes:
            status = bare
        elif len(scopes) == 1 and single:
            status = single.get(scopes[0], scoped)
        else:
            status = scoped
        if status == 200:
            return Answer(200, {'token': TOKEN})
        return Answer(status, {'errors': [{'code': 'DENIED', 'message': 'requested access to the resource is denied'}]})
    return realm


def challenge_call():
    return ('GET', BASE + '/v2/', {'timeout': 5.0})


def realm_call(scopes, username=USER, password=GOOD):
    params = [('service', 'registry')] + [('scope', s) for s in scopes] + [('account', username),
                                                                           ('client_id', 'icr.auth')]
    return ('GET', REALM, {'params': params, 'auth': (username, password), 'timeout': 5.0})


def probe_call(method, path):
    return (method, BASE + path, {'headers': {'Authorization': 'Bearer ' + TOKEN}, 'timeout': 5.0,
                                  'allow_redirects': False})


def outcome(verification):
    return dict(verification.as_dict(), host=verification.host)


def expected(ok, msg, status=None, reason=None, granted=None):
    return {'ok': ok, 'msg': msg, 'status': status, 'reason': reason, 'granted': granted or {}, 'host': HOST}


PERMISSION = ('The registry at us.icr.io accepted the iamapikey credential, but its IAM policies do not grant %s. '
              'Give the identity the Reader (pull) or Writer (push) role on the namespace.')
REFUSED = ('The registry at us.icr.io refused the iamapikey credential (HTTP %d: %s). The API key or token is wrong, '
           'revoked or expired, or the username type does not match it.')


@pytest.mark.parametrize('scopes', [None, []])
def test_without_scopes_the_credential_alone_is_proved(scopes):
    session = Scripted(bearer_registry(granting()))
    result = verify(session, OPTS, HOST, USER, GOOD, scopes)
    assert outcome(result) == expected(True, 'The registry at us.icr.io accepted the iamapikey credential.', 200)
    assert session.calls == [challenge_call(), realm_call([])]


def test_a_registry_without_a_token_realm_is_asked_with_basic_auth_even_with_scopes():
    def answers(method, url, kwargs):
        assert (method, url) == ('GET', BASE + '/v2/')
        return Answer(200 if kwargs.get('auth') == (USER, GOOD) else 401, {}, {'WWW-Authenticate': 'Basic realm="r"'})
    session = Scripted(answers)
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull'])
    assert outcome(result) == expected(True, 'The registry at us.icr.io accepted the iamapikey credential.', 200)
    assert session.calls == [challenge_call(), ('GET', BASE + '/v2/', {'auth': (USER, GOOD), 'timeout': 5.0})]


SCOPES = ['registry:catalog:*', 'repository:team-a/app:pull,push', 'repository:team-b/lib:pull']


@pytest.mark.parametrize('status', [400, 401, 403])
def test_a_realm_refusing_the_scopes_but_not_the_credential_is_asked_for_each_action(status):
    single = {'repository:team-a/app:pull': 200, 'repository:team-a/app:push': 401, 'repository:team-b/lib:pull': 403}
    session = Scripted(bearer_registry(granting(scoped=status, single=single)))
    result = verify(session, OPTS, HOST, USER, GOOD, SCOPES)
    assert outcome(result) == expected(False, PERMISSION % 'push on team-a/app, pull on team-b/lib', status,
                                       'permission', {'team-a/app': ['pull']})
    assert session.calls == [challenge_call(), realm_call(SCOPES), realm_call([])] + [
        realm_call([scope]) for scope in ['repository:team-a/app:pull', 'repository:team-a/app:push',
                                          'repository:team-b/lib:pull']]


def test_scopes_granted_alone_but_refused_together_are_all_reported():
    single = {'repository:team-a/app:pull': 200, 'repository:team-a/app:push': 200}
    session = Scripted(bearer_registry(granting(scoped=401, single=single)))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull,push'])
    assert outcome(result) == expected(False, PERMISSION % 'pull on team-a/app, push on team-a/app', 401, 'permission',
                                       {'team-a/app': ['pull', 'push']})
    assert len(session.calls) == 5


@pytest.mark.parametrize('status', [400, 401])
def test_a_realm_refusing_the_credential_without_scopes_too_is_a_credential_problem(status):
    """The realm's own words are kept, without the key or the Basic form of it that it echoes."""
    def realm(scopes):
        return Answer(status, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'no %s; %s' % (GOOD, BASIC_FORM)}]})
    session = Scripted(bearer_registry(realm))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull'])
    assert outcome(result) == expected(False, REFUSED % (status, 'UNAUTHORIZED: no ********; ********'), status,
                                       'credential')
    assert session.calls == [challenge_call(), realm_call(['repository:team-a/app:pull']), realm_call([])]


def test_a_realm_forbidding_the_credential_is_a_permission_problem():
    session = Scripted(bearer_registry(granting(scoped=403, bare=403)))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull'])
    assert outcome(result) == expected(
        False, 'The registry at us.icr.io accepted the iamapikey credential but denies access (HTTP 403: DENIED: '
        'requested access to the resource is denied). Check the IAM policies and context-based restrictions of the '
        'identity, and whether the account allows only private-network access.', 403, 'permission')


def test_a_realm_answering_without_a_token_is_a_protocol_error():
    session = Scripted(bearer_registry(lambda scopes: Answer(200, {})))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull'])
    assert outcome(result) == expected(False, 'The token service of us.icr.io answered HTTP 200 without a token.', 200,
                                       'protocol')
    assert session.calls == [challenge_call(), realm_call(['repository:team-a/app:pull'])]


@pytest.mark.parametrize('when', ['scoped', 'bare', 'single'])
def test_an_unreachable_realm_is_reported_as_such(when):
    import requests

    def realm(scopes):
        fails = {'scoped': len(scopes) > 1, 'bare': not scopes, 'single': len(scopes) == 1}[when]
        if fails:
            return requests.exceptions.ConnectionError('connection refused')
        return granting(scoped=401)(scopes)
    session = Scripted(bearer_registry(realm))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull', 'repository:team-b/lib:pull'])
    assert outcome(result) == expected(False, 'the token service of us.icr.io at https://us.icr.io/oauth/token could '
                                       'not be reached (1 attempt): connection refused. Check the endpoint, DNS, '
                                       'proxy and firewall.', None, 'unreachable')


def test_a_secret_named_in_a_scope_is_masked_in_the_refusal():
    scopes = ['repository:%s:pull' % GOOD, 'repository:%s:pull' % BASIC_FORM]
    session = Scripted(bearer_registry(granting(scoped=401, single={scopes[0]: 401, scopes[1]: 401})))
    result = verify(session, OPTS, HOST, USER, GOOD, scopes)
    assert outcome(result) == expected(False, PERMISSION % 'pull on ********, pull on ********', 401, 'permission')


def registry_probes(answers):
    """The registry's answers to the probes: answers[(method, path)]."""
    def registry(method, path):
        return answers[(method, path)]
    return registry


def test_granted_actions_are_proved_with_the_token_and_push_probes_are_cancelled():
    probes = {
        ('GET', '/v2/team-a/app/tags/list'): Answer(200, {'tags': ['1']}),
        ('POST', '/v2/team-a/app/blobs/uploads/'): Answer(202, None, {'Location': '/v2/team-a/app/blobs/uploads/u1'}),
        ('DELETE', '/v2/team-a/app/blobs/uploads/u1'): Answer(204),
        ('GET', '/v2/team-z/new/tags/list'): Answer(404, {'errors': [{'code': 'NAME_UNKNOWN'}]}),
        ('GET', '/v2/team-b/new/tags/list'): Answer(404, {'errors': [{'code': 'NAME_UNKNOWN'}]}),
        ('POST', '/v2/team-b/new/blobs/uploads/'): Answer(202, None, {}),
    }
    scopes = ['repository:team-a/app:push,pull', 'repository:team-z/new:pull', 'repository:team-b/new:pull,push']
    session = Scripted(bearer_registry(granting(), registry_probes(probes)))
    result = verify(session, OPTS, HOST, USER, GOOD, scopes)
    assert outcome(result) == expected(
        True, 'The registry at us.icr.io accepted the iamapikey credential and grants push on team-a/app, pull on '
        'team-a/app, pull on team-z/new, pull on team-b/new, push on team-b/new. (team-b/new, team-z/new: no such '
        'repository yet.)', 200, None, {'team-a/app': ['pull', 'push'], 'team-z/new': ['pull'],
                                        'team-b/new': ['pull', 'push']})
    assert session.calls == [challenge_call(), realm_call(scopes)] + [probe_call(method, path) for method, path in [
        ('POST', '/v2/team-a/app/blobs/uploads/'), ('DELETE', '/v2/team-a/app/blobs/uploads/u1'),
        ('GET', '/v2/team-a/app/tags/list'), ('GET', '/v2/team-z/new/tags/list'), ('GET', '/v2/team-b/new/tags/list'),
        ('POST', '/v2/team-b/new/blobs/uploads/')]]


@pytest.mark.parametrize('location, cancelled', [
    ('https://us.icr.io/v2/team-a/app/blobs/uploads/u2?_state=x', True),
    ('https://elsewhere.example/v2/team-a/app/blobs/uploads/u2', False),
    ('/other/u2', False)])
def test_only_an_upload_on_the_registry_itself_is_cancelled(location, cancelled):
    import requests

    def registry(method, path):
        if method == 'DELETE':
            return requests.exceptions.ConnectionError('gone')  # best effort: a failed cancel changes nothing
        return Answer(202, None, {'Location': location})
    session = Scripted(bearer_registry(granting(), registry))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:push'])
    assert outcome(result) == expected(
        True, 'The registry at us.icr.io accepted the iamapikey credential and grants push on team-a/app.', 200, None,
        {'team-a/app': ['push']})
    deletes = [('DELETE', location, probe_call('DELETE', '')[2])] if cancelled else []
    assert session.calls[3:] == deletes


def test_actions_the_registry_refuses_to_the_token_are_missing():
    probes = {
        ('GET', '/v2/team-a/app/tags/list'): Answer(200, {}),
        ('POST', '/v2/team-a/app/blobs/uploads/'): Answer(403, {'errors': [{'code': 'DENIED'}]}),
        ('GET', '/v2/team-b/lib/tags/list'): Answer(401, {'errors': [{'code': 'UNAUTHORIZED'}]}),
    }
    scopes = ['repository:team-a/app:pull,push', 'repository:team-b/lib:pull']
    session = Scripted(bearer_registry(granting(), registry_probes(probes)))
    result = verify(session, OPTS, HOST, USER, GOOD, scopes)
    assert outcome(result) == expected(False, PERMISSION % 'push on team-a/app, pull on team-b/lib', 200, 'permission',
                                       {'team-a/app': ['pull']})
    assert len(session.calls) == 5


@pytest.mark.parametrize('status, action, method, path', [
    (429, 'pull', 'GET', '/v2/team-a/app/tags/list'), (500, 'push', 'POST', '/v2/team-a/app/blobs/uploads/'),
    (503, 'pull', 'GET', '/v2/team-a/app/tags/list')])
def test_a_busy_or_failing_registry_is_unreachable(status, action, method, path):
    session = Scripted(bearer_registry(granting(), lambda method, path: Answer(status, {})))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:%s' % action, 'repository:team-b/x:pull'])
    assert outcome(result) == expected(False, 'The registry at us.icr.io answered HTTP %d to %s https://us.icr.io%s; '
                                       'try again later.' % (status, method, path), status, 'unreachable')
    assert session.calls[2:] == [probe_call(method, path)]


@pytest.mark.parametrize('status, action', [(400, 'pull'), (404, 'push'), (302, 'pull'), (499, 'push')])
def test_an_unexpected_answer_of_the_registry_is_a_protocol_error(status, action):
    """Its words are kept, without the key it may echo."""
    body = {'errors': [{'code': 'ODD', 'message': 'saw %s and %s' % (GOOD, BASIC_FORM)}, {'code': 'MORE'}]}
    session = Scripted(bearer_registry(granting(), lambda method, path: Answer(status, body)))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:%s' % action])
    assert outcome(result) == expected(False, 'The registry at us.icr.io answered HTTP %d where it should prove %s on '
                                       'team-a/app: ODD: saw ******** and ********; MORE' % (status, action),
                                       status, 'protocol')


def test_a_registry_probe_that_fails_is_unreachable():
    import requests
    session = Scripted(bearer_registry(granting(), lambda method, path: requests.exceptions.ConnectionError('reset')))
    result = verify(session, OPTS, HOST, USER, GOOD, ['repository:team-a/app:pull'])
    assert outcome(result) == expected(False, 'the registry at https://us.icr.io/v2/team-a/app/tags/list could not be '
                                       'reached (1 attempt): reset. Check the endpoint, DNS, proxy and firewall.', None,
                                       'unreachable')
