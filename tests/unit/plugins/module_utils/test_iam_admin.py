# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_admin: the admin key, endpoints, retries per method, error messages, pagination."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_admin as admin
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam

RETRY = {'Retry-After': '0'}
BUSY = {'errors': [{'code': 'too_many_requests', 'message': 'slow down'}]}


def session(iam, retries=2):
    return admin.AdminSession({'iam_endpoint': iam.url, 'api_key': ADMIN_KEY, 'retries': retries, 'timeout': 5.0}, {})


@pytest.mark.parametrize('endpoint, base', [
    (None, 'https://iam.cloud.ibm.com'), ('public', 'https://iam.cloud.ibm.com'),
    ('private', 'https://private.iam.cloud.ibm.com'), ('http://127.0.0.1:9/', 'http://127.0.0.1:9'),
    ('https://iam.test/identity/token', 'https://iam.test'),
])
def test_api_base(endpoint, base):
    assert admin.api_base(endpoint) == base


def test_api_base_refuses_a_bare_host():
    with pytest.raises(InputError, match='iam_endpoint'):
        admin.api_base('iam.cloud.ibm.com')


def test_admin_key_option_then_environment():
    assert admin.admin_key({'api_key': 'a' * 40}, {'IBMCLOUD_API_KEY': 'b' * 40}) == 'a' * 40
    assert admin.admin_key({}, {'IC_API_KEY': 'c' * 40}) == 'c' * 40
    assert admin.admin_key({}, {'IBMCLOUD_API_KEY': 'b' * 40, 'IC_API_KEY': 'c' * 40}) == 'b' * 40
    with pytest.raises(InputError, match='IBMCLOUD_API_KEY'):
        admin.admin_key({}, {})


def test_login_gives_the_account_of_the_token():
    with FakeIam() as iam:
        s = session(iam)
        s.login()
        s.login()
        assert s.account_id == ACCOUNT
        assert len([r for r in iam.requests if r['path'] == '/identity/token']) == 1


@pytest.mark.parametrize('method', ['GET', 'PUT', 'DELETE'])
def test_idempotent_methods_are_retried_on_429_and_5xx(method):
    with FakeIam() as iam:
        sid = iam.add_service_id('x')
        iam.faults += [(method, '/v1/serviceids/', 429, RETRY, BUSY), (method, '/v1/serviceids/', 503, RETRY, b'')]
        headers = {'If-Match': '*'} if method == 'PUT' else {}
        answer = session(iam).call(method, '/v1/serviceids/' + sid['id'], 'do it', body={'name': 'x'} if method == 'PUT'
                                   else None, headers=headers)
        assert answer.status in (200, 204)
        assert len([r for r in iam.requests if r['method'] == method]) == 3


def test_post_is_retried_on_429_but_never_on_5xx():
    with FakeIam() as iam:
        iam.faults.append(('POST', '/v1/serviceids/', 429, RETRY, BUSY))
        answer = session(iam).call('POST', '/v1/serviceids/', 'create', body={'name': 'x', 'account_id': ACCOUNT})
        assert answer.status == 201 and len(iam.service_ids) == 1
        iam.faults.append(('POST', '/v1/serviceids/', 502, RETRY, b''))
        with pytest.raises(IamError, match='HTTP 502'):
            session(iam).call('POST', '/v1/serviceids/', 'create', body={'name': 'y', 'account_id': ACCOUNT})
        assert len([r for r in iam.requests if r['method'] == 'POST' and r['path'] == '/v1/serviceids/']) == 3


def test_rate_limit_that_lasts_is_a_clear_error():
    with FakeIam() as iam:
        iam.faults += [('GET', '/v1/policies', 429, RETRY, BUSY)] * 3
        with pytest.raises(IamError) as err:
            session(iam, retries=1).call('GET', '/v1/policies', 'list the policies')
        assert 'Could not list the policies: IAM answered HTTP 429 (too_many_requests: slow down)' in err.value.msg
        assert '2 attempts' in err.value.msg


def test_error_message_names_operation_status_code_and_request_id():
    with FakeIam() as iam:
        iam.faults.append(('DELETE', '/v1/apikeys/k', 409, {}, {
            'trace': 'trace-7', 'errors': [{'code': 'conflict', 'message_code': 'BXNIM0510E', 'message': 'busy'}]}))
        with pytest.raises(IamError) as err:
            session(iam).call('DELETE', '/v1/apikeys/k', 'delete API key k')
        assert err.value.msg == ('Could not delete API key k: IAM answered HTTP 409 (conflict/BXNIM0510E: busy). IAM request '
                                 'id: trace-7.')
        assert err.value.details['code'] == 'conflict' and ADMIN_KEY not in err.value.msg


def test_forbidden_says_which_access_the_admin_needs():
    with FakeIam() as iam:
        iam.faults.append(('GET', '/v1/apikeys', 403, {}, {'errors': [{'code': 'forbidden', 'message': 'no'}]}))
        with pytest.raises(IamError, match='lacks the access'):
            session(iam).call('GET', '/v1/apikeys', 'list the API keys')


def test_pages_follow_pagetoken_and_start():
    with FakeIam(page=2) as iam:
        for n in range(5):
            iam.add_service_id('s%d' % n)
            iam.add_policy('iam-x', ['Reader'], [('serviceName', 'container-registry'), ('region', 'r%d' % n)])
        s = session(iam)
        sids = list(s.pages('/v1/serviceids/', {'account_id': ACCOUNT, 'pagesize': 100}, 'serviceids', 'list'))
        assert sorted(x['name'] for x in sids) == ['s0', 's1', 's2', 's3', 's4']
        policies = list(s.pages('/v1/policies', {'iam_id': 'iam-x'}, 'policies', 'list', token_param='start'))
        assert len(policies) == 5
        tokens = [r['query'].get('pagetoken') for r in iam.requests if r['path'] == '/v1/serviceids/']
        assert tokens == [None, '2', '4']


@pytest.mark.parametrize('body, token', [
    ({'next': 'https://iam.test/v1/serviceids/?pagetoken=abc&pagesize=1'}, 'abc'),
    ({'next': {'href': 'https://iam.test/v1/policies?start=s2', 'start': 's2'}}, 's2'),
    ({'next': {'href': 'https://iam.test/v1/policies?start=s3'}}, 's3'),
    ({'next': None}, None), ({}, None),
])
def test_next_token(body, token):
    assert admin.next_token(body) == token


def test_a_server_that_repeats_its_page_token_ends_the_list():
    with FakeIam() as iam:
        page = {'serviceids': [{'id': 'a'}], 'next': iam.url + '/v1/serviceids/?pagetoken=same'}
        iam.faults += [('GET', '/v1/serviceids/', 200, {}, page)] * 3
        assert len(list(session(iam).pages('/v1/serviceids/', {}, 'serviceids', 'list'))) == 2
