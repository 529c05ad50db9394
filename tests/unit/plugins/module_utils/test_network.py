# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network seam both modules use: nothing is built before it is used, and each call goes where it should."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _network
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions, lenient_retry_after, make_session
from ansible_collections.icr.auth.plugins.module_utils._network import Network, iam_endpoint

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


def test_iam_endpoint_option_then_environment_then_public():
    assert iam_endpoint({'iam_endpoint': 'private'}, {'IBMCLOUD_IAM_ENDPOINT': 'http://x'}) == 'private'
    assert iam_endpoint({'iam_endpoint': None}, {'IBMCLOUD_IAM_ENDPOINT': 'http://x'}) == 'http://x'
    assert iam_endpoint({}, {}) == 'public'


def test_options_are_checked_only_when_the_network_is_used():
    network = Network({'timeout': 0, 'iam_endpoint': 'ftp://x'}, {})
    with pytest.raises(InputError) as err:
        network.client
    assert err.value.msg == 'timeout: give a number of seconds greater than 0.'
    with pytest.raises(InputError) as err:
        Network({'iam_endpoint': 'ftp://x'}, {}).exchange(API_KEY, 'iambearer')
    assert err.value.msg.startswith("iam_endpoint: 'ftp://x' is neither public, private nor an http(s) URL")


def test_the_client_is_made_once_from_the_options_the_environment_and_the_session():
    session = object()
    network = Network({'timeout': 5, 'retries': 1}, {'IBMCLOUD_IAM_ENDPOINT': 'http://127.0.0.1:9'}, session=session)
    client = network.client
    assert network.client is client and client.url == 'http://127.0.0.1:9/identity/token'
    assert client.session is session and (network.http.timeout, network.http.retries) == (5.0, 1)


def test_exchange_gives_the_issued_credential_with_its_identity(monkeypatch):
    class Token(object):
        iam_id, account_id = 'iam-x', 'acct'

    assert Network({}, {}).exchange(API_KEY, 'iamapikey') == (API_KEY, None, None)  # no IAM call for a key
    seen = []

    def exchange(client, api_key, username_type):
        seen.append((client, api_key, username_type))
        return 'pw', 1234, Token()       # a plain tuple, as a stand-in may give

    monkeypatch.setattr(_network, 'exchange', exchange)
    network = Network({}, {})
    issued = network.exchange(API_KEY, 'iambearer')
    assert (issued.password, issued.expires_at, issued.iam_id, issued.account_id) == ('pw', 1234, 'iam-x', 'acct')
    assert seen == [(network.client, API_KEY, 'iambearer')]


def test_verify_proves_each_host_and_scopes_only_with_an_access_prover(monkeypatch):
    calls = []
    monkeypatch.setattr(_network, 'verify', lambda *args: calls.append(('plain',) + args[2:]) or args[2])
    assert Network({}, {}).verify(['a', 'b'], 'iamapikey', 'pw') == ['a', 'b']
    assert calls == [('plain', 'a', 'iamapikey', 'pw'), ('plain', 'b', 'iamapikey', 'pw')]
    with pytest.raises(ValueError):
        Network({}, {}).verify(['a'], 'iamapikey', 'pw', ['repository:x/y:pull'])

    def access(session, opts, host, username, password, scopes):
        calls.append(('access', host, scopes))
        return host

    assert Network({}, {}, access=access).verify(['a'], 'u', 'p', ['repository:x/y:pull']) == ['a']
    assert calls[-1] == ('access', 'a', ['repository:x/y:pull'])


def test_verify_hands_each_prover_the_session_made_from_the_options(monkeypatch):
    made, calls = [], []

    def fake_make_session(opts):
        made.append(opts)
        return 'session-%d' % len(made)

    monkeypatch.setattr(_network, 'make_session', fake_make_session)
    monkeypatch.setattr(_network, 'verify', lambda *args: calls.append(args) or args[2])
    network = Network({'timeout': 7}, {})
    assert network.verify(['a', 'b'], 'iamapikey', 'pw') == ['a', 'b']
    assert made == [network.http] and network.http.timeout == 7.0
    assert calls == [('session-1', network.http, 'a', 'iamapikey', 'pw'),
                     ('session-1', network.http, 'b', 'iamapikey', 'pw')]

    def access(*args):
        calls.append(args)
        return args[2]

    network = Network({'timeout': 8}, {}, access=access)
    assert network.verify(['c', 'd'], 'u', 'p', ['repository:x/y:pull']) == ['c', 'd']
    assert calls[2:] == [('session-2', network.http, 'c', 'u', 'p', ['repository:x/y:pull']),
                         ('session-2', network.http, 'd', 'u', 'p', ['repository:x/y:pull'])]


def test_scopes_without_an_access_prover_are_a_programming_error():
    with pytest.raises(ValueError) as err:
        Network({}, {}).verify(['a'], 'iamapikey', 'pw', ['repository:x/y:pull'])
    assert str(err.value) == 'Network.verify: scopes need a Network made with access=_access.verify'


def test_identity_asks_the_iam_client_of_the_endpoint_for_the_key_token(monkeypatch):
    monkeypatch.setattr(_network.IamClient, 'apikey_token', lambda client, api_key: (client.url, api_key))
    network = Network({'iam_endpoint': 'private'}, {})
    assert network.identity(API_KEY) == ('https://private.iam.cloud.ibm.com/identity/token', API_KEY)


@pytest.mark.parametrize('value,seconds', [('1.5', 1.5), (' 2.25 ', 2.25), ('soon', 0.0), ('', 0.0), (None, 0.0),
                                           ('-3', 0.0), ('nan', 0.0), ('inf', 0.0)])
def test_lenient_retry_after(value, seconds):
    assert lenient_retry_after(value) == seconds


@pytest.mark.parametrize('value,low,high', [('3', 3, 3), ('1.5', 1.5, 1.5), ('soon, give or take', 0, 0), ('999999', 60, 60),
                                            ('Wed, 21 Oct 2015 07:28:00 GMT', 0, 0)])
def test_retry_after_never_raises_and_is_capped(value, low, high):
    retry = make_session(HttpOptions()).get_adapter('https://x').max_retries
    assert low <= retry.parse_retry_after(value) <= high
