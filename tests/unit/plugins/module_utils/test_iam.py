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
