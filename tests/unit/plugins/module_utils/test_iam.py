# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam: the token URL, the API key checks, Token, and IamClient against a scripted IAM on 127.0.0.1."""

from __future__ import annotations

import base64
import socket
import time
import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam as iam
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.fake_http import FakeServer
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

NOW = 1700000000


@pytest.mark.parametrize('endpoint, url', [
    (None, 'https://iam.cloud.ibm.com/identity/token'),
    ('public', 'https://iam.cloud.ibm.com/identity/token'),
    (' public ', 'https://iam.cloud.ibm.com/identity/token'),
    ('private', 'https://private.iam.cloud.ibm.com/identity/token'),
    ('https://private.us-south.iam.cloud.ibm.com', 'https://private.us-south.iam.cloud.ibm.com/identity/token'),
    ('https://iam.example.test/', 'https://iam.example.test/identity/token'),
    ('http://127.0.0.1:8080/identity/token', 'http://127.0.0.1:8080/identity/token'),
])
def test_token_url(endpoint, url):
    assert iam.token_url(endpoint) == url


@pytest.mark.parametrize('endpoint', ['iam.cloud.ibm.com', 'ftp://iam.example.test', 'Public'])
def test_token_url_refuses_what_is_no_endpoint(endpoint):
    with pytest.raises(InputError) as caught:
        iam.token_url(endpoint)
    assert caught.value.msg.startswith('iam_endpoint: %r is neither public, private nor an http(s) URL' % endpoint)


def test_check_api_key_accepts_a_key():
    assert iam.check_api_key(API_KEY) is None


@pytest.mark.parametrize('value, says', [
    (None, 'no API key was given'), ('', 'no API key was given'), (42, 'no API key was given'),
    (API_KEY + '\n', 'white space'), (' ' + API_KEY, 'white space'), (API_KEY[:10] + ' ' + API_KEY[10:], 'white space'),
    (iam_token(now=NOW), 'this is an IAM access token, not an API key'),
])
def test_check_api_key_refuses_what_cannot_be_a_key_without_repeating_it(value, says):
    with pytest.raises(InputError) as caught:
        iam.check_api_key(value, option='docker_auth_api_key')
    assert caught.value.msg.startswith('docker_auth_api_key: ') and says in caught.value.msg
    if isinstance(value, str) and value:
        assert value.strip() not in caught.value.msg


def test_token_reads_identity_and_expiry_from_the_access_token():
    token = iam.Token({'access_token': iam_token(iam_id='iam-ServiceId-t', account='b' * 32, now=NOW, lifetime=1200),
                       'refresh_token': 'r1', 'expiration': 1, 'expires_in': 1})
    assert (token.iam_id, token.account_id, token.expires_at, token.refresh_token) == (
        'iam-ServiceId-t', 'b' * 32, NOW + 1200, 'r1')


def test_token_falls_back_to_expiration_then_expires_in():
    assert iam.Token({'access_token': 'opaque', 'expiration': NOW + 5}).expires_at == NOW + 5
    assert iam.Token({'access_token': 'opaque', 'expiration': 'soon', 'expires_in': 10}).expires_at == pytest.approx(
        int(time.time()) + 10, abs=2)
    token = iam.Token({'access_token': 'opaque'})
    assert (token.expires_at, token.refresh_token, token.iam_id, token.account_id) == (None, None, None, None)


def answer(access_token=None, **extra):
    body = {'access_token': access_token or iam_token(now=NOW), 'refresh_token': 'not_a_jwt_refresh',
            'token_type': 'Bearer', 'expires_in': 3600, 'expiration': NOW + 3600}
    body.update(extra)
    return 200, {'Content-Type': 'application/json'}, body


def client(server, retries=0):
    return iam.IamClient(server.url, HttpOptions(retries=retries, timeout=5, backoff_factor=0))


def form(request):
    return dict(urllib.parse.parse_qsl(request['body'].decode()))


def basic(request):
    value = request['headers'].get('Authorization')
    return base64.b64decode(value.split(' ', 1)[1]).decode() if value else None


def test_apikey_token_posts_the_apikey_grant_without_a_client():
    with FakeServer(answer()) as server:
        token = client(server).apikey_token(API_KEY)
    [request] = server.requests
    assert request['method'] == 'POST' and request['path'] == iam.TOKEN_PATH
    assert form(request) == {'grant_type': iam.APIKEY_GRANT, 'apikey': API_KEY}
    assert request['headers']['Accept'] == 'application/json' and basic(request) is None
    assert token.access_token == iam_token(now=NOW) and token.refresh_token == 'not_a_jwt_refresh'
    assert token.expires_at == NOW + 3600 and token.iam_id == 'iam-ServiceId-1234'


def test_want_refresh_asks_as_the_cli_client():
    with FakeServer(answer()) as server:
        client(server).apikey_token(API_KEY, want_refresh=True)
    assert basic(server.requests[0]) == 'bx:bx'


def test_refresh_posts_the_refresh_grant_as_the_cli_client():
    with FakeServer(answer(access_token=iam_token(now=NOW + 60))) as server:
        token = client(server).refresh('r-token')
    [request] = server.requests
    assert form(request) == {'grant_type': iam.REFRESH_GRANT, 'refresh_token': 'r-token'}
    assert basic(request) == 'bx:bx' and token.expires_at == NOW + 60 + 3600


def test_a_bad_key_is_refused_before_anything_is_sent():
    with FakeServer(answer()) as server:
        with pytest.raises(InputError):
            client(server).apikey_token(API_KEY + ' ')
    assert server.requests == []


def test_a_known_iam_error_code_gets_its_advice_and_the_request_id():
    body = {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.',
            'context': {'requestId': 'req-42'}}
    with FakeServer((400, {}, body)) as server:
        with pytest.raises(IamError) as caught:
            client(server, retries=3).apikey_token(API_KEY)
    assert len(server.requests) == 1    # a refusal is not retried
    assert caught.value.msg == ('Could not exchange the API key: IAM answered HTTP 400 (BXNIM0415E: Provided API key '
                                'could not be found.). ' + iam.ERROR_ADVICE['BXNIM0415E'] + ' IAM request id: req-42.')
    assert caught.value.details == {'code': 'BXNIM0415E', 'status': 400}
    assert API_KEY not in caught.value.msg


def test_an_answer_that_is_not_json_says_to_check_the_endpoint():
    with FakeServer((404, {}, b'<html>not here</html>')) as server:
        with pytest.raises(IamError) as caught:
            client(server).refresh('r')
    assert caught.value.msg == ('Could not refresh the IAM token: IAM answered HTTP 404. The answer was not JSON; '
                                'check iam_endpoint.')
    assert caught.value.details == {'code': None, 'status': 404}


def test_rate_limiting_after_the_retries():
    with FakeServer((429, {}, {})) as server:
        with pytest.raises(IamError) as caught:
            client(server, retries=1).apikey_token(API_KEY)
    assert len(server.requests) == 2
    assert 'is rate-limiting (HTTP 429) and still was after 2 attempts' in caught.value.msg


def test_server_errors_after_the_retries():
    with FakeServer((503, {}, {}), (500, {}, {})) as server:
        with pytest.raises(IamError) as caught:
            client(server, retries=1).apikey_token(API_KEY)
    assert len(server.requests) == 2
    assert caught.value.msg == ('Could not exchange the API key: IAM at %s answered HTTP 500 (2 attempts). IBM Cloud '
                                'IAM may be having trouble; try again later.' % (server.url + iam.TOKEN_PATH))


def test_a_retried_server_error_then_a_token_succeeds():
    with FakeServer((503, {}, {}), answer()) as server:
        token = client(server, retries=1).apikey_token(API_KEY)
    assert len(server.requests) == 2 and token.access_token == iam_token(now=NOW)


@pytest.mark.parametrize('body', [{'token': 'x'}, {'access_token': ''}, {'access_token': 5}, b'not json', [1]])
def test_a_200_that_is_no_token_answer_is_an_error(body):
    with FakeServer((200, {}, body)) as server:
        with pytest.raises(IamError) as caught:
            client(server).apikey_token(API_KEY)
    assert 'answered HTTP 200 with a body that is not a token answer' in caught.value.msg
    assert ('not JSON' in caught.value.msg) == (body == b'not json')


def test_an_unreachable_iam_is_described():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()    # nothing listens there now
    iam_client = iam.IamClient('http://127.0.0.1:%d' % port, HttpOptions(retries=0, timeout=5))
    with pytest.raises(IamError) as caught:
        iam_client.apikey_token(API_KEY)
    assert caught.value.msg.startswith('Could not exchange the API key: IBM Cloud IAM at http://127.0.0.1:%d%s could '
                                       'not be reached (1 attempt)' % (port, iam.TOKEN_PATH))
    assert API_KEY not in caught.value.msg


def test_the_session_is_made_once_from_the_options_or_taken_as_given():
    opts = HttpOptions(proxy='http://proxy.example.test:3128')
    made = iam.IamClient('public', opts)
    assert made.session is made.session and made.session.proxies['https'] == 'http://proxy.example.test:3128'
    given = object()
    assert iam.IamClient('private', opts, session=given).session is given


# ---- exact requests and messages, through a recording session (no network) ----

PROFILE_ID = 'Profile-0b6f2e3c-1d2a-4b5c-8d9e-0f1a2b3c4d5e'
PROFILE_CRN = 'crn:v1:bluemix:public:iam-identity::a/%s::profile:%s' % ('c' * 32, PROFILE_ID)
CR_TOKEN = 'crtoken.pod.Q2VjcmV0Q3JUb2tlblZhbHVlU2hvdWxkTmV2ZXJMZWFr'
ACCESS = 'eyJhbGciOiJSUzI1NiJ9.eyJpYW1faWQiOiJhZG1pbiJ9.c2ln'


class Response(object):
    def __init__(self, status, body, content=b'{}'):
        self.status_code = status
        self.body = body
        self.content = content

    def json(self):
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


class Session(object):
    """Records each post (url and keyword arguments); answers with the response given, or raises it."""

    def __init__(self, result):
        self.result = result
        self.posts = []

    def post(self, url, **kwargs):
        self.posts.append(dict(kwargs, url=url))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def recorded(result=None, timeout=7.5, retries=0):
    if result is None:
        result = Response(200, {'access_token': iam_token(iam_id='iam-' + PROFILE_ID, account='c' * 32, now=NOW),
                                'expires_in': 3600})
    session = Session(result)
    return iam.IamClient('https://iam.example.test', HttpOptions(retries=retries, timeout=timeout), session=session), \
        session


def post_of(form_sent, auth=None):
    return {'url': 'https://iam.example.test/identity/token', 'data': form_sent, 'auth': auth, 'timeout': 7.5,
            'headers': {'Accept': 'application/json'}}


def test_apikey_refresh_assume_and_cr_token_post_exactly_their_grant():
    iam_client, session = recorded()
    iam_client.apikey_token(API_KEY)
    iam_client.apikey_token(API_KEY, want_refresh=True)
    iam_client.refresh('r-token')
    assert session.posts == [
        post_of({'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': API_KEY}),
        post_of({'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': API_KEY}, ('bx', 'bx')),
        post_of({'grant_type': 'refresh_token', 'refresh_token': 'r-token'}, ('bx', 'bx'))]


@pytest.mark.parametrize('kwargs, sent', [
    ({'profile_id': PROFILE_ID}, {'profile_id': PROFILE_ID}),
    ({'profile_id': PROFILE_ID, 'profile_crn': '', 'profile_name': None, 'account_id': 'acc'},
     {'profile_id': PROFILE_ID}),
    ({'profile_crn': PROFILE_CRN}, {'profile_crn': PROFILE_CRN}),
    ({'profile_crn': PROFILE_CRN, 'account_id': 'acc'}, {'profile_crn': PROFILE_CRN}),
    ({'profile_name': 'iam-admins', 'account_id': 'c' * 32}, {'profile_name': 'iam-admins', 'account': 'c' * 32}),
])
def test_assume_posts_the_assume_grant_with_the_one_reference(kwargs, sent):
    iam_client, session = recorded()
    token = iam_client.assume(ACCESS, **kwargs)
    assert session.posts == [post_of(dict({'grant_type': 'urn:ibm:params:oauth:grant-type:assume',
                                           'access_token': ACCESS}, **sent))]
    assert (token.iam_id, token.account_id, token.expires_at) == ('iam-' + PROFILE_ID, 'c' * 32, NOW + 3600)


ASSUME_GIVE = 'To assume a trusted profile give exactly one of its id, its CRN, or its name with the account id '


@pytest.mark.parametrize('kwargs, msg', [
    ({}, ASSUME_GIVE + '(given: none).'),
    ({'profile_id': '', 'profile_crn': None, 'profile_name': ''}, ASSUME_GIVE + '(given: none).'),
    ({'profile_id': PROFILE_ID, 'profile_crn': PROFILE_CRN}, ASSUME_GIVE + '(given: profile_id, profile_crn).'),
    ({'profile_crn': PROFILE_CRN, 'profile_name': 'n', 'account_id': 'a'},
     ASSUME_GIVE + '(given: profile_crn, profile_name).'),
    ({'profile_name': 'iam-admins'}, "The trusted profile 'iam-admins' is given by name: give its account id too."),
    ({'profile_name': 'iam-admins', 'account_id': ''},
     "The trusted profile 'iam-admins' is given by name: give its account id too."),
])
def test_assume_refuses_anything_but_one_reference_before_sending(kwargs, msg):
    iam_client, session = recorded()
    with pytest.raises(InputError) as caught:
        iam_client.assume(ACCESS, **kwargs)
    assert caught.value.msg == msg and session.posts == [] and ACCESS not in caught.value.msg


@pytest.mark.parametrize('kwargs, sent', [
    ({'profile_id': PROFILE_ID}, {'profile_id': PROFILE_ID}),
    ({'profile_name': 'iam-admins'}, {'profile_name': 'iam-admins'}),
    ({'profile_id': PROFILE_ID, 'profile_name': 'iam-admins'},
     {'profile_id': PROFILE_ID, 'profile_name': 'iam-admins'}),
    ({'profile_id': '', 'profile_name': 'iam-admins'}, {'profile_name': 'iam-admins'}),
    ({'profile_id': PROFILE_ID, 'profile_name': ''}, {'profile_id': PROFILE_ID}),
])
def test_cr_token_posts_the_cr_token_grant_with_id_and_or_name(kwargs, sent):
    iam_client, session = recorded()
    token = iam_client.cr_token(CR_TOKEN, **kwargs)
    assert session.posts == [post_of(dict({'grant_type': 'urn:ibm:params:oauth:grant-type:cr-token',
                                           'cr_token': CR_TOKEN}, **sent))]
    assert token.iam_id == 'iam-' + PROFILE_ID


@pytest.mark.parametrize('kwargs', [{}, {'profile_id': '', 'profile_name': None}])
def test_cr_token_without_a_profile_is_refused_before_sending(kwargs):
    iam_client, session = recorded()
    with pytest.raises(InputError) as caught:
        iam_client.cr_token(CR_TOKEN, **kwargs)
    assert caught.value.msg == 'The compute resource token grant needs the trusted profile id or name.'
    assert session.posts == []


@pytest.mark.parametrize('call, doing', [
    (lambda c: c.apikey_token(API_KEY), 'exchange the API key'),
    (lambda c: c.refresh('r-token'), 'refresh the IAM token'),
    (lambda c: c.assume(ACCESS, profile_id=PROFILE_ID), 'assume the trusted profile'),
    (lambda c: c.cr_token(CR_TOKEN, profile_id=PROFILE_ID), 'exchange the compute resource token'),
])
def test_each_grant_names_what_it_was_doing(call, doing):
    import requests
    iam_client, session = recorded(requests.exceptions.ConnectionError('refused'), retries=2)
    with pytest.raises(IamError) as caught:
        call(iam_client)
    assert caught.value.msg == ('Could not %s: IBM Cloud IAM at https://iam.example.test/identity/token could not be '
                                'reached (3 attempts): refused. Check the endpoint, DNS, proxy and firewall.' % doing)
    iam_client, session = recorded(Response(403, {'errorCode': 'BXNIM0999E'}))
    with pytest.raises(IamError) as caught:
        call(iam_client)
    assert caught.value.msg == 'Could not %s: IAM answered HTTP 403 (BXNIM0999E).' % doing
    for secret in (API_KEY, ACCESS, CR_TOKEN, 'r-token'):
        assert secret not in caught.value.msg


@pytest.mark.parametrize('body, content, msg', [
    (ValueError('no JSON'), b'<html>', ' (6 bytes, not JSON)'),
    (ValueError('no JSON'), None, ' (0 bytes, not JSON)'),
    ({'token': 'x'}, b'{"token": "x"}', ' (14 bytes)'),
])
def test_a_200_without_a_token_counts_the_bytes_iam_sent(body, content, msg):
    iam_client, session = recorded(Response(200, body, content))
    with pytest.raises(IamError) as caught:
        iam_client.refresh('r-token')
    assert caught.value.msg == ('Could not refresh the IAM token: IAM at https://iam.example.test/identity/token '
                                'answered HTTP 200 with a body that is not a token answer%s. Check iam_endpoint.' % msg)


@pytest.mark.parametrize('endpoint, url', [
    ('', 'https://iam.cloud.ibm.com/identity/token'),
    ('  private\n', 'https://private.iam.cloud.ibm.com/identity/token'),
    ('http://iam.example.test//', 'http://iam.example.test/identity/token'),
    ('https://iam.example.test/identity/token/', 'https://iam.example.test/identity/token'),
    ('https://gw.example.test/IAMX/', 'https://gw.example.test/IAMX/identity/token'),    # only '/' is stripped
])
def test_token_url_more(endpoint, url):
    assert iam.token_url(endpoint) == url


def test_token_url_refusal_is_exact():
    with pytest.raises(InputError) as caught:
        iam.token_url(' iam.cloud.ibm.com ')
    assert caught.value.msg == ("iam_endpoint: 'iam.cloud.ibm.com' is neither public, private nor an http(s) URL (for "
                                "example https://private.us-south.iam.cloud.ibm.com).")


def test_token_expiration_and_expires_in_are_read_only_as_integers():
    assert iam.Token({'access_token': 'opaque', 'expiration': 'soon'}).expires_at is None
    assert iam.Token({'access_token': 'opaque', 'expires_in': '10'}).expires_at is None
    assert iam.Token({'access_token': 'opaque', 'expiration': NOW, 'expires_in': 10}).expires_at == NOW


class Opts(object):
    retries = 0


@pytest.mark.parametrize('status, body, msg, code', [
    (429, {}, 'Could not act: IAM at U is rate-limiting (HTTP 429) and still was after 1 attempt. Wait and run '
              'again, or lower the number of parallel exchanges (exchange once on the controller with run_once).',
     None),
    (500, None, 'Could not act: IAM at U answered HTTP 500 (1 attempt). IBM Cloud IAM may be having trouble; try '
                'again later.', None),
    (499, None, 'Could not act: IAM answered HTTP 499. The answer was not JSON; check iam_endpoint.', None),
    (401, {'errorMessage': 'Bad.'}, 'Could not act: IAM answered HTTP 401 (Bad.).', None),
    (401, {'errorCode': 'BXNIM0407E', 'context': {'requestId': 'rq'}},
     'Could not act: IAM answered HTTP 401 (BXNIM0407E). The refresh token is invalid or has expired; exchange the '
     'API key again. IAM request id: rq.', 'BXNIM0407E'),
    (400, {'errorCode': 'X1', 'errorMessage': 'm', 'context': 'rq'}, 'Could not act: IAM answered HTTP 400 (X1: m).',
     'X1'),
    (400, {'context': {'requestId': ''}}, 'Could not act: IAM answered HTTP 400.', None),
    (400, ['BXNIM0415E'], 'Could not act: IAM answered HTTP 400.', None),
])
def test_answer_of_each_refusal(status, body, msg, code):
    with pytest.raises(IamError) as caught:
        iam.answer_of('U', status, body, 3, Opts(), 'act')
    assert caught.value.msg == msg
    assert caught.value.details == ({'code': code, 'status': status} if status < 500 and status != 429 else {})


def test_answer_of_returns_the_token_answer_itself():
    body = {'access_token': 'a'}
    assert iam.answer_of('U', 200, body, 3, Opts(), 'act') is body
