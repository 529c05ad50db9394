# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_identity_base: token answers, the cache key of an identity, and the exchange with IAM's token endpoint."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _identity_base as base
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, IcrAuthError, InputError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import FakeTransport
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

NOW = 1700000000


class Demo(base.IdentitySource):
    """An identity source told apart by its 'where' key; it asks IAM with the apikey grant."""

    name = 'demo'
    keys = ('where',)

    def fetch(self):
        return self.iam_exchange({'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': API_KEY},
                                 'exchange the demo key')


def demo(transport=None, **config):
    return Demo(dict({'identity': 'demo'}, **config), transport or FakeTransport())


# ------------------------------------------------------------------ token answers

def test_the_expiry_is_the_jwt_s_and_the_issue_time_is_now():
    token = iam_token(now=NOW, lifetime=600)
    assert base.access_token({'access_token': token, 'expires_in': 3600}, now=NOW + 1.9) == (token, NOW + 600, NOW + 1)
    assert base.access_token({'access_token': token, 'expiration': NOW + 5}, now=NOW) == (token, NOW + 600, NOW)


def test_an_opaque_token_takes_the_expiry_of_the_answer():
    assert base.access_token({'access_token': 'opaque', 'expiration': NOW + 50}, now=NOW) == ('opaque', NOW + 50, NOW)
    before = int(time.time())
    token = base.access_token({'access_token': 'opaque', 'expires_in': 100})
    after = int(time.time())
    assert token.token == 'opaque' and before <= token.issued_at <= after
    assert before + 100 <= token.expires_at <= after + 100
    assert isinstance(token.expires_at, int) and isinstance(token.issued_at, int)


@pytest.mark.parametrize('answer', [{'access_token': 'opaque'}, {'access_token': 'opaque', 'expires_in': '3600'},
                                    {'access_token': iam_token(now=NOW, exp=None)}])
def test_a_token_without_an_expiry_is_refused(answer):
    with pytest.raises(base.IdentityError) as err:
        base.access_token(answer, now=NOW)
    assert err.value.msg == 'the token answered carries no expiry (no exp claim, expiration or expires_in)'
    assert isinstance(err.value, IcrAuthError)


# ------------------------------------------------------------------ cache keys

def test_the_cache_key_is_the_name_and_a_stable_hash_of_the_identity():
    # Written out once: a change would orphan every token cached under the old name.
    assert demo(where='here').cache_key() == 'demo-8e90f598790f13d7b75ec883b627560e'
    assert demo(where='here', iam_endpoint='private').cache_key() == 'demo-20adf8cd8b4677a1e5f5917cc0517f42'


def test_the_cache_key_depends_on_the_identity_s_keys_only():
    key = demo(where='here').cache_key()
    assert demo(where='here', timeout=30, retries=0, secret='s3cr3t').cache_key() == key
    assert demo(where='there').cache_key() != key
    assert demo(where='here', iam_endpoint='private').cache_key() != key
    assert Demo({'identity': 'other', 'where': 'here'}, FakeTransport()).cache_key() != key
    assert 's3cr3t' not in demo(where='here', secret='s3cr3t').cache_key()


def test_a_source_without_keys_is_told_apart_by_identity_and_endpoint():
    plain = base.IdentitySource({'identity': 'demo', 'where': 'here'}, FakeTransport())
    assert plain.cache_key() == base.IdentitySource({'identity': 'demo', 'where': 'there'}, FakeTransport()).cache_key()
    assert plain.cache_key().startswith('-')
    with pytest.raises(NotImplementedError):
        plain.fetch()


# ------------------------------------------------------------------ IAM's token endpoint

@pytest.mark.parametrize('endpoint,url', [(None, 'https://iam.cloud.ibm.com/identity/token'),
                                          ('public', 'https://iam.cloud.ibm.com/identity/token'),
                                          ('private', 'https://private.iam.cloud.ibm.com/identity/token'),
                                          ('https://iam.example.test/', 'https://iam.example.test/identity/token')])
def test_the_iam_url_is_the_token_url_of_the_endpoint(endpoint, url):
    assert demo(iam_endpoint=endpoint).iam_url == url


def test_a_bad_endpoint_is_refused_when_used():
    with pytest.raises(InputError) as err:
        demo(iam_endpoint='ftp://x').iam_url
    assert err.value.msg.startswith("iam_endpoint: 'ftp://x' is neither public, private nor an http(s) URL")


def test_the_exchange_posts_the_form_to_iam_and_reads_the_token():
    token = iam_token(now=NOW, lifetime=600)
    transport = FakeTransport((200, {'access_token': token, 'expires_in': 3600}))
    got = demo(transport, iam_endpoint='https://iam.example.test').fetch()
    assert (got.token, got.expires_at) == (token, NOW + 600)
    sent, = transport.requests
    assert (sent['method'], sent['url'], sent['what']) == (
        'POST', 'https://iam.example.test/identity/token', 'IBM Cloud IAM')
    assert sent['headers'] == {'Content-Type': 'application/x-www-form-urlencoded'} and sent['proxy'] is True
    assert isinstance(sent['body'], bytes)
    assert dict(urllib.parse.parse_qsl(sent['body'].decode('ascii'))) == {
        'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': API_KEY}


def test_a_refusal_of_iam_names_what_was_done_and_the_cause():
    transport = FakeTransport((400, {'errorCode': 'BXNIM0415E', 'errorMessage': 'Provided API key could not be found.',
                                     'context': {'requestId': 'req-1'}}))
    with pytest.raises(IamError) as err:
        demo(transport).fetch()
    assert err.value.msg.startswith('Could not exchange the demo key: IAM answered HTTP 400 (BXNIM0415E: Provided API '
                                    'key could not be found.).')
    assert err.value.msg.endswith(' IAM request id: req-1.')


def test_an_answer_that_is_no_token_names_the_url_and_its_size():
    transport = FakeTransport((200, b'<html>hello</html>'))
    with pytest.raises(IamError) as err:
        demo(transport, iam_endpoint='private').fetch()
    assert err.value.msg == ('Could not exchange the demo key: IAM at https://private.iam.cloud.ibm.com/identity/token '
                             'answered HTTP 200 with a body that is not a token answer (18 bytes, not JSON). Check '
                             'iam_endpoint.')


def test_the_attempts_told_are_those_of_the_transport():
    transport = FakeTransport((503, {}))
    transport.retries = 2
    with pytest.raises(IamError) as err:
        demo(transport).fetch()
    assert err.value.msg == ('Could not exchange the demo key: IAM at https://iam.cloud.ibm.com/identity/token '
                             'answered HTTP 503 (3 attempts). IBM Cloud IAM may be having trouble; try again later.')
