# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry handshake without scopes: what icr_login proves before it writes."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.icr.auth.plugins.module_utils._registry import (
    Verification,
    ask_realm,
    classify_token_answer,
    credential_label,
    errors_text,
    handshake,
    mask,
    realm_unreachable,
    verify,
)
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.registry_fakes import (
    CHALLENGE,
    GOOD,
    HOST,
    OPTS,
    REALM,
    Answer,
    Registry,
)


def test_without_scopes_nothing_is_probed():
    session = Registry({})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD)
    assert result.ok
    assert [c[0] for c in session.calls] == ['GET', 'GET']
    assert session.calls[1][2] == [('service', 'registry'), ('account', 'iamapikey'), ('client_id', 'icr.auth')]


def test_a_wrong_key_is_refused_and_never_shown():
    result = verify(Registry({}), OPTS, HOST, 'iamapikey', 'x' * 44)
    assert not result.ok and result.reason == 'credential' and result.status == 400 and 'x' * 44 not in result.msg


def test_handshake_names_the_realm_or_ends_the_proof():
    assert handshake(Registry({}), OPTS, HOST, 'iamapikey', GOOD) == ('https://' + HOST, REALM, 'registry')

    class Open(object):
        def get(self, url, **kwargs):
            return Answer(200)

    done = handshake(Open(), OPTS, HOST, 'iamapikey', GOOD)
    assert isinstance(done, Verification) and done.ok and done.msg == f'The registry at {HOST} asks for no credential.'

    class Elsewhere(object):
        def get(self, url, **kwargs):
            return Answer(401, {}, {'WWW-Authenticate': CHALLENGE.replace('us.icr.io', 'evil.example.com')})

    refused = handshake(Elsewhere(), OPTS, HOST, 'iamapikey', GOOD)
    assert not refused.ok and refused.reason == 'protocol' and 'outside IBM Cloud Container Registry' in refused.msg


def test_mask_hides_the_secret_and_its_basic_forms():
    text = mask(f'echo {GOOD} and Basic aWFtYXBpa2V5Okdvb2Q=', 'iamapikey', GOOD)
    assert GOOD not in text and text == 'echo ******** and Basic ********'


KEY = 'UnitHostileKey0123456789'


def test_mask_hides_the_secret_in_every_form():
    b64 = base64.b64encode(('iamapikey:' + KEY).encode()).decode()
    text = 'echo: Authorization: Basic %s; raw %s; b64 %s; other basic Zm9vOmJhcg==' % (
        b64, KEY, base64.b64encode(KEY.encode()).decode())
    out = mask(text, 'iamapikey', KEY)
    assert KEY not in out and b64 not in out and 'Zm9vOmJhcg==' not in out
    assert out.count('********') >= 4


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_a_trusted_profile_login_is_sent_as_the_profile_and_a_refusal_names_the_trust():
    session = Registry({})
    assert verify(session, OPTS, HOST, PROFILE, GOOD).msg == f'The registry at {HOST} accepted the trusted profile ' \
                                                             f'{PROFILE} credential.'
    assert session.calls[1][2][-2:] == [('account', PROFILE), ('client_id', 'icr.auth')]
    refused = verify(Registry({}), OPTS, HOST, PROFILE, 'x' * 44)
    assert not refused.ok and refused.reason == 'credential' and 'x' * 44 not in refused.msg
    assert f'the trusted profile {PROFILE} does not exist, or it does not trust the service ID of this API key' \
           in refused.msg
    assert 'username type does not match' in verify(Registry({}), OPTS, HOST, 'iamapikey', 'x' * 44).msg


# The proof step by step, against a session that answers each URL from a script and records what it was asked.

LOOPBACK = '127.0.0.1:5000'
LOCAL_REALM = 'http://127.0.0.1:5000/token'
UNREACHABLE = '%s could not be reached (1 attempt): %s. Check the endpoint, DNS, proxy and firewall.'


class Scripted(object):
    """A fake session: answers[url] is an Answer, an exception to raise, or a list of them taken in turn."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def get(self, url, **kwargs):
        self.calls.append((url, kwargs))
        answer = self.answers[url]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def reply(status, text=None, body=None, headers=None):
    """An answer whose text is given apart from its JSON body (None: not JSON)."""
    answer = Answer(status, body, headers)
    answer.text = text
    return answer


def requests_error(text):
    import requests
    return requests.exceptions.ConnectionError(text)


def outcome(result):
    return (result.host,) + tuple(result.as_dict().values())


def test_a_verification_keeps_what_it_was_given():
    full = Verification('us.icr.io', False, 'why', 403, 'permission', {'team-a/app': ['pull']})
    assert full.host == 'us.icr.io'
    assert full.as_dict() == {'ok': False, 'msg': 'why', 'status': 403, 'reason': 'permission',
                              'granted': {'team-a/app': ['pull']}}
    assert Verification('de.icr.io', True, 'fine').as_dict() == {'ok': True, 'msg': 'fine', 'status': None,
                                                                 'reason': None, 'granted': {}}


@pytest.mark.parametrize('answer, expected', [
    (reply(401, 'raw', {'errors': [{'code': 'DENIED', 'message': 'no'}, 'odd', {'message': 'words only'},
                                   {'code': 'CODE_ONLY', 'message': ''}]}),
     'DENIED: no; words only; CODE_ONLY'),
    (reply(401, 'raw', {'errors': [], 'message': 'plain'}), 'plain'),
    (reply(401, 'raw', {'errors': [{}], 'message': 'plain'}), 'plain'),
    (reply(401, ' raw ', {'errors': [{}, {'code': '', 'message': None}]}), 'raw'),
    (reply(401, 'raw', {'errors': [{'code': 'DENIED'}, {}]}), 'DENIED'),
    (reply(401, 'raw', {'errors': ['odd', 7], 'error': 'invalid_grant'}), 'invalid_grant'),
    (reply(401, 'raw', {'errors': 'not a list', 'details': 'the details'}), 'the details'),
    (reply(400, 'raw', {'error_description': 'a', 'message': 'b', 'error': 'c', 'details': 'd'}), 'a'),
    (reply(400, 'raw', {'message': 'b', 'error': 'c', 'details': 'd'}), 'b'),
    (reply(400, 'raw', {'error': 'c', 'details': 'd'}), 'c'),
    (reply(400, ' raw words\n', {'error': ['c'], 'details': 4, 'message': None}), 'raw words'),
    (reply(400, '[1, 2]', [1, 2]), '[1, 2]'),
    (reply(404, '  not json at all \n'), 'not json at all'),
    (reply(404, 'x' * 300), 'x' * 200),
    (reply(502, ' \n '), 'HTTP 502'),
    (reply(404, None), 'HTTP 404'),
])
def test_errors_text_gives_the_registrys_own_words(answer, expected):
    assert errors_text(answer) == expected


def test_only_https_is_tried_on_a_remote_registry():
    import requests
    session = Scripted({'https://us.icr.io/v2/': requests.exceptions.ConnectionError('refused')})
    result = handshake(session, OPTS, HOST, 'iamapikey', GOOD)
    assert outcome(result) == (HOST, False, UNREACHABLE % ('the registry at https://us.icr.io/v2/', 'refused'), None,
                               'unreachable', {})
    assert session.calls == [('https://us.icr.io/v2/', {'timeout': 5.0})]


def test_plain_http_is_tried_on_loopback_when_tls_is_not_spoken():
    import requests
    session = Scripted({'https://127.0.0.1:5000/v2/': requests.exceptions.ConnectionError('wrong version number'),
                        'http://127.0.0.1:5000/v2/': Answer(401, {}, {
                            'WWW-Authenticate': 'Bearer realm="%s",service="local"' % LOCAL_REALM})})
    assert handshake(session, OPTS, LOOPBACK, 'iamapikey', GOOD) == ('http://127.0.0.1:5000', LOCAL_REALM, 'local')
    assert session.calls == [('https://127.0.0.1:5000/v2/', {'timeout': 5.0}),
                             ('http://127.0.0.1:5000/v2/', {'timeout': 5.0})]


def test_a_loopback_registry_reached_by_neither_scheme_is_named_by_the_last_one():
    import requests
    session = Scripted({'https://127.0.0.1:5000/v2/': requests.exceptions.ConnectionError('first'),
                        'http://127.0.0.1:5000/v2/': requests.exceptions.ConnectionError('second')})
    result = handshake(session, OPTS, LOOPBACK, 'iamapikey', GOOD)
    assert outcome(result) == (LOOPBACK, False, UNREACHABLE % ('the registry at http://127.0.0.1:5000/v2/', 'second'),
                               None, 'unreachable', {})
    assert len(session.calls) == 2


def test_a_certificate_that_fails_verification_is_reported_without_falling_back_to_http():
    import requests
    session = Scripted({'https://127.0.0.1:5000/v2/': requests.exceptions.SSLError('[SSL: CERTIFICATE_VERIFY_FAILED] '
                                                                                   'self-signed'),
                        'http://127.0.0.1:5000/v2/': Answer(200)})
    result = handshake(session, OPTS, LOOPBACK, 'iamapikey', GOOD)
    assert outcome(result) == (LOOPBACK, False, 'TLS verification of the registry at https://127.0.0.1:5000/v2/ '
                               'failed: [SSL: CERTIFICATE_VERIFY_FAILED] self-signed; give ca_path with the CA that '
                               'signed its certificate.', None, 'unreachable', {})
    assert session.calls == [('https://127.0.0.1:5000/v2/', {'timeout': 5.0})]


def test_an_open_registry_needs_no_credential():
    session = Scripted({'https://us.icr.io/v2/': Answer(200)})
    assert outcome(handshake(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, True, 'The registry at us.icr.io asks for no credential.', 200, None, {})


@pytest.mark.parametrize('status, reason', [(500, 'unreachable'), (503, 'unreachable'), (499, 'protocol'),
                                            (404, 'protocol'), (302, 'protocol')])
def test_an_answer_other_than_a_challenge_ends_the_proof(status, reason):
    session = Scripted({'https://us.icr.io/v2/': reply(status, 'busy')})
    assert outcome(handshake(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, False, 'The registry at us.icr.io answered GET /v2/ with HTTP %d where 401 with a challenge was '
        'expected: busy' % status, status, reason, {})


def test_a_realm_outside_icr_is_refused_before_the_credential_is_sent():
    session = Scripted({'https://us.icr.io/v2/': Answer(401, {}, {
        'WWW-Authenticate': 'Bearer realm="https://evil.example.com/oauth/token"'})})
    assert outcome(handshake(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, False, "The registry at us.icr.io named a token service outside IBM Cloud Container Registry's domains "
        '(https://evil.example.com/oauth/token); the credential was not sent there.', 401, 'protocol', {})
    assert len(session.calls) == 1


def test_a_plain_http_realm_of_a_registry_reached_over_https_is_refused():
    session = Scripted({'https://127.0.0.1:5000/v2/': Answer(401, {}, {
        'WWW-Authenticate': 'Bearer realm="%s"' % LOCAL_REALM})})
    assert outcome(handshake(session, OPTS, LOOPBACK, 'iamapikey', GOOD)) == (
        LOOPBACK, False, 'The registry at 127.0.0.1:5000 was reached over https but named a plain-http token service '
        '(http://127.0.0.1/token); the credential was not sent there.', 401, 'protocol', {})


@pytest.mark.parametrize('headers', [{}, {'WWW-Authenticate': 'Basic realm="registry"'}])
def test_a_registry_without_a_bearer_challenge_is_asked_with_basic_auth(headers):
    session = Scripted({'https://us.icr.io/v2/': [Answer(401, {}, headers), Answer(200)]})
    assert outcome(verify(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, True, 'The registry at us.icr.io accepted the iamapikey credential.', 200, None, {})
    assert session.calls == [('https://us.icr.io/v2/', {'timeout': 5.0}),
                             ('https://us.icr.io/v2/', {'auth': ('iamapikey', GOOD), 'timeout': 5.0})]


def test_basic_auth_refused_names_the_credential_without_showing_it():
    echo = base64.b64encode((PROFILE + ':' + GOOD).encode()).decode()
    session = Scripted({'http://127.0.0.1:5000/v2/': [
        Answer(401, {}, {}), reply(403, 'no', {'errors': [{'code': 'DENIED', 'message': '%s or %s' % (GOOD, echo)}]})],
        'https://127.0.0.1:5000/v2/': requests_error('no TLS here')})
    assert outcome(verify(session, OPTS, LOOPBACK, PROFILE, GOOD)) == (
        LOOPBACK, False, 'The registry at 127.0.0.1:5000 refused the trusted profile %s credential (HTTP 403: DENIED: '
        '******** or ********).' % PROFILE, 403, 'credential', {})
    assert session.calls[-1] == ('http://127.0.0.1:5000/v2/', {'auth': (PROFILE, GOOD), 'timeout': 5.0})


def test_basic_auth_that_cannot_be_sent_is_unreachable():
    session = Scripted({'https://us.icr.io/v2/': [Answer(401, {}, {}), requests_error('reset')]})
    assert outcome(handshake(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, False, UNREACHABLE % ('the registry at https://us.icr.io/v2/', 'reset'), None, 'unreachable', {})


def test_the_realm_is_asked_for_the_scopes_as_the_account_and_the_client():
    session = Scripted({REALM: Answer(200, {'token': 't'})})
    assert ask_realm(session, OPTS, REALM, None, 'iamapikey', GOOD,
                     ['repository:a/b:pull', 'repository:c/d:push']) is session.answers[REALM]
    ask_realm(session, OPTS, REALM, '', 'iamapikey', GOOD, [])
    ask_realm(session, OPTS, REALM, 'registry', 'iamapikey', GOOD, ['repository:a/b:pull'])
    auth = {'auth': ('iamapikey', GOOD), 'timeout': 5.0}
    assert session.calls == [
        (REALM, dict(params=[('scope', 'repository:a/b:pull'), ('scope', 'repository:c/d:push'),
                             ('account', 'iamapikey'), ('client_id', 'icr.auth')], **auth)),
        (REALM, dict(params=[('account', 'iamapikey'), ('client_id', 'icr.auth')], **auth)),
        (REALM, dict(params=[('service', 'registry'), ('scope', 'repository:a/b:pull'), ('account', 'iamapikey'),
                             ('client_id', 'icr.auth')], **auth))]


def test_an_unreachable_realm_is_reported_with_its_url():
    session = Scripted({'https://us.icr.io/v2/': Answer(401, {}, {'WWW-Authenticate': CHALLENGE}),
                        REALM: requests_error('refused')})
    expected = (HOST, False, UNREACHABLE % ('the token service of us.icr.io at %s' % REALM, 'refused'), None,
                'unreachable', {})
    assert outcome(verify(session, OPTS, HOST, 'iamapikey', GOOD)) == expected
    assert outcome(realm_unreachable(requests_error('refused'), HOST, REALM, OPTS)) == expected


def test_what_the_realm_echoes_of_the_credential_is_masked():
    echo = base64.b64encode(('iamapikey:' + GOOD).encode()).decode()
    session = Scripted({'https://us.icr.io/v2/': Answer(401, {}, {'WWW-Authenticate': CHALLENGE}),
                        REALM: reply(401, 'no', {'errors': [{'code': 'UNAUTHORIZED', 'message': echo + ' ' + GOOD}]})})
    assert outcome(verify(session, OPTS, HOST, 'iamapikey', GOOD)) == (
        HOST, False, 'The registry at us.icr.io refused the iamapikey credential (HTTP 401: UNAUTHORIZED: ******** '
        '********). The API key or token is wrong, revoked or expired, or the username type does not match it.', 401,
        'credential', {})


DENIED = reply(403, 'no', {'errors': [{'code': 'DENIED', 'message': 'denied'}]})


@pytest.mark.parametrize('answer, expected', [
    (reply(400, 'no', {'error': 'bad'}), (False, 'The registry at us.icr.io refused the iamapikey credential (HTTP '
                                          '400: bad). The API key or token is wrong, revoked or expired, or the '
                                          'username type does not match it.', 400, 'credential', None)),
    (reply(401, 'no'), (False, 'The registry at us.icr.io refused the iamapikey credential (HTTP 401: no). The API '
                        'key or token is wrong, revoked or expired, or the username type does not match it.', 401,
                        'credential', None)),
    (DENIED, (False, 'The registry at us.icr.io accepted the iamapikey credential but denies access (HTTP 403: '
              'DENIED: denied). Check the IAM policies and context-based restrictions of the identity, and whether '
              'the account allows only private-network access.', 403, 'permission', None)),
    (reply(429, 'slow'), (False, 'The token service of us.icr.io answered HTTP 429; try again later.', 429,
                          'unreachable', None)),
    (reply(500, 'oops'), (False, 'The token service of us.icr.io answered HTTP 500; try again later.', 500,
                          'unreachable', None)),
    (reply(430, 'odd'), (False, 'The token service of us.icr.io answered HTTP 430: odd', 430, 'protocol', None)),
    (reply(499, 'odd'), (False, 'The token service of us.icr.io answered HTTP 499: odd', 499, 'protocol', None)),
    (reply(402, 'odd'), (False, 'The token service of us.icr.io answered HTTP 402: odd', 402, 'protocol', None)),
    (reply(404, 'odd'), (False, 'The token service of us.icr.io answered HTTP 404: odd', 404, 'protocol', None)),
    (reply(201, 'odd', {'token': 't'}), (False, 'The token service of us.icr.io answered HTTP 201: odd', 201,
                                         'protocol', None)),
    (reply(200, '{}', {'token': 'tok'}), (True, 'The registry at us.icr.io accepted the iamapikey credential.', 200,
                                          None, 'tok')),
    (reply(200, '{}', {'access_token': 'acc'}), (True, 'The registry at us.icr.io accepted the iamapikey '
                                                 'credential.', 200, None, 'acc')),
    (reply(200, '{}', {'token': '', 'access_token': 'acc'}), (True, 'The registry at us.icr.io accepted the '
                                                              'iamapikey credential.', 200, None, 'acc')),
])
def test_the_realms_answer_is_classified(answer, expected):
    result, token = classify_token_answer(HOST, 'iamapikey', answer)
    assert result.host == HOST and result.granted == {}
    assert (result.ok, result.msg, result.status, result.reason, token) == expected


@pytest.mark.parametrize('body', [None, ['tok'], {}, {'token': '', 'access_token': ''}, {'token': 12},
                                  {'access_token': ['tok']}])
def test_a_realm_answer_without_a_token_string_is_a_protocol_error(body):
    result, token = classify_token_answer(HOST, 'iamapikey', reply(200, 'ok', body))
    assert token is None
    assert outcome(result) == (HOST, False, 'The token service of us.icr.io answered HTTP 200 without a token.', 200,
                               'protocol', {})


def test_a_trusted_profile_refused_or_denied_is_named_as_such():
    refused, _token = classify_token_answer(HOST, PROFILE, reply(401, 'no'))
    assert refused.msg == (
        'The registry at us.icr.io refused the trusted profile %s credential (HTTP 401: no). Either the trusted '
        'profile %s does not exist, or it does not trust the service ID of this API key (add the service ID to the '
        "profile's trust), or the API key is wrong, revoked, disabled or not a service ID's." % (PROFILE, PROFILE))
    denied, _token = classify_token_answer(HOST, PROFILE, DENIED)
    assert denied.msg.startswith('The registry at us.icr.io accepted the trusted profile %s credential but denies '
                                 'access' % PROFILE)


def test_a_credential_is_named_by_its_username():
    assert credential_label('iamapikey') == 'iamapikey credential'
    assert credential_label(PROFILE) == 'trusted profile %s credential' % PROFILE
    assert credential_label('Profile-not-a-uuid') == 'Profile-not-a-uuid credential'


def test_mask_leaves_other_values_and_other_words_alone():
    assert mask(None, 'iamapikey', GOOD) is None
    assert mask(401, 'iamapikey', GOOD) == 401
    assert mask('plain words', 'iamapikey', '') == 'plain words'
    assert mask('plain words', 'iamapikey', None) == 'plain words'
    masked = mask('BASIC abc+/=_-.d, then xbasic abc and basic', 'iamapikey', '')
    assert masked == 'BASIC ********, then xbasic abc and basic'


def test_mask_hides_the_url_safe_base64_of_the_credential():
    key = 'Unit~Key?'
    standard = base64.b64encode(('iamapikey:' + key).encode()).decode()
    url_safe = base64.urlsafe_b64encode(('iamapikey:' + key).encode()).decode()
    assert standard != url_safe
    assert mask('a %s b %s c' % (standard, url_safe), 'iamapikey', key) == 'a ******** b ******** c'


def test_mask_hides_the_base64_of_the_username_given():
    key = 'UnitKey~1'
    padded = base64.b64encode(('iamapikey:' + key).encode()).decode()
    assert padded.endswith('=')
    assert mask('a %s b %s. c' % (padded, padded.rstrip('=')), 'iamapikey', key) == 'a ******** b ********. c'


def test_mask_hides_whole_forms_only():
    """'UnitKey123W' makes base64 of iamapikey:UnitKey123W end in X without padding: nothing shorter is masked."""
    key = 'UnitKey123W'
    whole = base64.b64encode(('iamapikey:' + key).encode()).decode()
    assert whole.endswith('X')
    assert mask('a %s b %s. c' % (whole, whole[:-1]), 'iamapikey', key) == 'a ******** b %s. c' % whole[:-1]


def test_mask_hides_the_longest_form_first():
    """'Profile-<uuid>:' is 45 bytes, so base64 of the whole credential ends with base64 of the key alone."""
    key = 'secret-key'
    whole = base64.b64encode(('%s:%s' % (PROFILE, key)).encode()).decode()
    alone = base64.b64encode(key.encode()).decode()
    assert whole.endswith(alone)
    assert mask('a %s b %s c' % (whole, alone), PROFILE, key) == 'a ******** b ******** c'
