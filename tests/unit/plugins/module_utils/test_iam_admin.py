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
        assert err.value.msg == ('Could not delete API key k: IAM answered HTTP 409 (conflict/BXNIM0510E: busy). '
                                 'IAM request id: trace-7.')
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


# ---- exact options, requests, messages and pages, through a recording session (no network) ----

import requests  # noqa: E402

from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions  # noqa: E402
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import (  # noqa: E402
    PROFILE_CRN, PROFILE_ID, PROFILE_NAME)
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token  # noqa: E402

ADMIN_TOKEN = iam_token('IBMid-admin', account=ACCOUNT)
FORBIDDEN = (' The administrator (api_key, admin_trusted_profile or admin_cr_token_file) lacks the access this needs: '
             'Editor or Administrator on the IAM Identity Service (service IDs, API keys), and Administrator on '
             'Container Registry or on IAM Access Management (policies).')


def test_admin_spec_adds_the_admin_options_to_the_network_options():
    spec = admin.admin_spec()
    assert dict((k, spec[k]) for k in ('api_key', 'admin_trusted_profile', 'admin_account', 'admin_cr_token_file')) == {
        'api_key': {'type': 'str', 'no_log': True}, 'admin_trusted_profile': {'type': 'str'},
        'admin_account': {'type': 'str'}, 'admin_cr_token_file': {'type': 'path'}}
    assert sorted(spec) == sorted(['api_key', 'admin_trusted_profile', 'admin_account', 'admin_cr_token_file',
                                   'iam_endpoint', 'validate_certs', 'ca_path', 'timeout', 'retries', 'proxy'])


@pytest.mark.parametrize('value, ref', [
    (None, {}), ('', {}), ('  ', {}),
    (PROFILE_ID, {'profile_id': PROFILE_ID}), (' %s\n' % PROFILE_ID, {'profile_id': PROFILE_ID}),
    ('Profile-abcdef01', {'profile_id': 'Profile-abcdef01'}),
    ('Profile-' + 'a' * 64, {'profile_id': 'Profile-' + 'a' * 64}),
    (PROFILE_CRN, {'profile_crn': PROFILE_CRN}), (PROFILE_NAME, {'profile_name': PROFILE_NAME}),
    ('x Profile-abcdef01', {'profile_name': 'x Profile-abcdef01'}),
    ('xcrn:a:profile:b', {'profile_name': 'xcrn:a:profile:b'}),
])
def test_profile_ref(value, ref):
    assert admin.profile_ref({'admin_trusted_profile': value}) == ref


@pytest.mark.parametrize('value, msg', [
    ('crn:v1:bluemix:public:iam::::serviceRole:Reader',
     "admin_trusted_profile: 'crn:v1:bluemix:public:iam::::serviceRole:Reader' is a CRN but not one of a trusted "
     "profile (crn:v1:bluemix:public:iam-identity::a/<account id>::profile:Profile-...)."),
    ('Profile-abc', "admin_trusted_profile: 'Profile-abc' is not a trusted profile id (Profile-<uuid>)."),
    ('Profile-' + 'a' * 65,
     "admin_trusted_profile: 'Profile-%s' is not a trusted profile id (Profile-<uuid>)." % ('a' * 65)),
    ('Profile-abcdef0g', "admin_trusted_profile: 'Profile-abcdef0g' is not a trusted profile id (Profile-<uuid>)."),
    ('Profile-abcdef01\nx',
     "admin_trusted_profile: 'Profile-abcdef01\\nx' is not a trusted profile id (Profile-<uuid>)."),
])
def test_profile_ref_refusals(value, msg):
    with pytest.raises(InputError) as info:
        admin.profile_ref({'admin_trusted_profile': value})
    assert info.value.msg == msg


@pytest.mark.parametrize('params, mode', [
    ({'api_key': ADMIN_KEY}, 'apikey'), ({}, 'apikey'), ({'admin_account': ''}, 'apikey'),
    ({'admin_trusted_profile': PROFILE_ID}, 'assume'), ({'admin_trusted_profile': PROFILE_CRN}, 'assume'),
    ({'admin_trusted_profile': PROFILE_NAME, 'admin_account': ACCOUNT}, 'assume'),
    ({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_ID}, 'cr_token'),
    ({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_ID, 'api_key': ''}, 'cr_token'),
    ({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_NAME}, 'cr_token'),
    ({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_NAME, 'admin_account': ACCOUNT}, 'cr_token'),
    ({'admin_cr_token_file': '', 'admin_trusted_profile': PROFILE_ID}, 'assume'),
])
def test_admin_mode(params, mode):
    assert admin.admin_mode(params) == mode


@pytest.mark.parametrize('params, msg', [
    ({'admin_account': ACCOUNT}, 'admin_account: it only goes with admin_trusted_profile given by name (a profile id '
                                 'or CRN names its account itself).'),
    ({'admin_account': ACCOUNT, 'admin_trusted_profile': PROFILE_CRN}, 'admin_account: it only goes with '
     'admin_trusted_profile given by name (a profile id or CRN names its account itself).'),
    ({'admin_cr_token_file': '/t', 'api_key': ADMIN_KEY, 'admin_trusted_profile': PROFILE_ID}, 'admin_cr_token_file '
     'and api_key: give one. With a compute resource token the administrator is the trusted profile '
     'admin_trusted_profile and needs no API key.'),
    ({'admin_cr_token_file': '/t'}, 'admin_cr_token_file: give admin_trusted_profile too, the id (Profile-...) or name '
                                    'of the trusted profile the compute resource is linked to.'),
    ({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_CRN}, 'admin_trusted_profile: with '
     'admin_cr_token_file give the profile id (Profile-...) or name; IAM takes no CRN for a compute resource token.'),
    ({'admin_trusted_profile': PROFILE_NAME, 'admin_account': ''},
     "admin_trusted_profile: 'iam-admins' is a name; give admin_account too (the account id of the profile), or "
     "give the profile id (Profile-...) or CRN."),
])
def test_admin_mode_refusals(params, msg):
    with pytest.raises(InputError) as info:
        admin.admin_mode(params)
    assert info.value.msg == msg and ADMIN_KEY not in msg


def test_admin_secrets_and_key():
    assert admin.admin_secrets({'api_key': 'k' * 40}, {}) == ['k' * 40]
    assert admin.admin_secrets({'admin_trusted_profile': PROFILE_ID}, {'IC_API_KEY': 'c' * 40}) == ['c' * 40]
    assert admin.admin_secrets({'admin_cr_token_file': '/t', 'admin_trusted_profile': PROFILE_ID}, {}) == []
    assert admin.admin_key({'api_key': ''}, {'IBMCLOUD_API_KEY': '', 'IC_API_KEY': 'c' * 40}) == 'c' * 40
    with pytest.raises(InputError) as info:
        admin.admin_key({'api_key': None}, {'IBMCLOUD_API_KEY': '', 'OTHER': 'x'})
    assert info.value.msg == ('api_key: no administrator API key was given and neither IBMCLOUD_API_KEY nor IC_API_KEY '
                              'is set. Pass the key of a user or service ID that may manage IAM (from a vault), or '
                              'export IBMCLOUD_API_KEY on the controller. In a pod with a compute resource token, give '
                              'admin_cr_token_file and admin_trusted_profile instead.')


@pytest.mark.parametrize('endpoint, base', [
    ('', 'https://iam.cloud.ibm.com'), (' private ', 'https://private.iam.cloud.ibm.com'),
    ('https://iam.test//', 'https://iam.test'), ('http://iam.test/identity/token/', 'http://iam.test'),
    ('https://iam.test/v1', 'https://iam.test/v1'),
])
def test_api_base_more(endpoint, base):
    assert admin.api_base(endpoint) == base


def test_api_base_refusal_is_exact():
    with pytest.raises(InputError) as info:
        admin.api_base(' ftp://iam.test ')
    assert info.value.msg == "iam_endpoint: 'ftp://iam.test' is neither public, private nor an http(s) URL."


class Response(object):
    def __init__(self, status=200, body=None, headers=None, content=None):
        self.status_code = status
        self.body = body
        self.headers = requests.structures.CaseInsensitiveDict(headers or {})
        self.content = content if content is not None else (b'' if body is None else b'{...}')

    def json(self):
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


@pytest.mark.parametrize('headers, body, rid', [
    ({'Transaction-Id': 't1', 'X-Request-Id': 'r1'}, {'trace': 'tr'}, 't1'),
    ({'X-Request-Id': 'r1', 'X-Correlation-Id': 'c1'}, None, 'r1'),
    ({'X-Correlation-Id': 'c1', 'X-Global-Transaction-Id': 'g1'}, None, 'c1'),
    ({'X-Global-Transaction-Id': 'g1'}, {'trace': 'tr'}, 'g1'),
    ({'Transaction-Id': ''}, {'context': {'requestId': 42}, 'trace': 'tr'}, '42'),
    ({}, {'context': {'requestId': ''}, 'trace': 7}, '7'),
    ({}, {'context': 'c', 'trace': ''}, None), ({}, ['trace'], None), ({}, None, None),
])
def test_request_id(headers, body, rid):
    assert admin.request_id(Response(headers=headers), body) == rid


@pytest.mark.parametrize('body, entry', [
    ({'errors': [{'code': 'a'}, {'code': 'b'}], 'errorCode': 'E'}, {'code': 'a'}),
    ({'errors': [], 'errorCode': 'E'}, {'code': 'E', 'message': None}),
    ({'errors': ['x'], 'errorMessage': 'M'}, {'code': None, 'message': 'M'}),
    ({'errors': {'code': 'a'}}, {}), ({'errorCode': ''}, {}), ([{'code': 'a'}], {}), (None, {}),
])
def test_error_entry(body, entry):
    assert admin.error_entry(body) == entry


@pytest.mark.parametrize('status, body, headers, text', [
    (400, {'errors': [{'code': 'c', 'message_code': 'BX1', 'message': 'm'}]}, {},
     'Could not act: IAM answered HTTP 400 (c/BX1: m).'),
    (400, {'errors': [{'code': 'c'}]}, {}, 'Could not act: IAM answered HTTP 400 (c).'),
    (400, {'errors': [{'message_code': 'BX1'}]}, {}, 'Could not act: IAM answered HTTP 400 (BX1).'),
    (400, {'errors': [{'message': 'm'}]}, {}, 'Could not act: IAM answered HTTP 400 (m).'),
    (400, None, {'X-Request-Id': 'r9'}, 'Could not act: IAM answered HTTP 400. IAM request id: r9.'),
    (429, {}, {}, 'Could not act: IAM answered HTTP 429. IAM is rate-limiting and still was after 3 attempts; wait and '
                  'run again.'),
    (500, {}, {}, 'Could not act: IAM answered HTTP 500. IAM may be having trouble (3 attempts); run again later.'),
    (499, {}, {}, 'Could not act: IAM answered HTTP 499.'),
    (401, {}, {}, 'Could not act: IAM answered HTTP 401.' + FORBIDDEN),
    (403, {'trace': 't'}, {}, 'Could not act: IAM answered HTTP 403.' + FORBIDDEN + ' IAM request id: t.'),
    (404, {}, {}, 'Could not act: IAM answered HTTP 404.'),
])
def test_describe_error(status, body, headers, text):
    assert admin.describe_error('act', Response(status, body, headers), body, HttpOptions(retries=2)) == text


def test_answer_reads_status_json_and_etag():
    answer = admin.Answer(Response(201, {'a': 1}, {'etag': '"e1"'}))
    assert (answer.status, answer.body, answer.etag) == (201, {'a': 1}, '"e1"')
    assert admin.Answer(Response(204, ValueError('empty'), content=b'')).body is None
    answer = admin.Answer(Response(200, ValueError('html'), content=b'<html>'))
    assert (answer.body, answer.etag) == (None, None)


class Session(object):
    """Records each request and answers from a script (the last answer repeats); raises an exception given."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []
        self.asked = 0

    def request(self, method, url, **kwargs):
        self.requests.append(dict(kwargs, method=method, url=url))
        self.asked += 1
        result = self.answers[min(self.asked, len(self.answers)) - 1]
        if isinstance(result, Exception):
            raise result
        return result

    def post(self, url, **kwargs):
        self.requests.append(dict(kwargs, method='POST', url=url))
        return Response(200, {'access_token': ADMIN_TOKEN, 'expires_in': 3600})


def recorded(*answers, hide=None, **params):
    session = Session(*answers)
    base = {'iam_endpoint': 'https://iam.test/', 'api_key': ADMIN_KEY, 'retries': 1, 'timeout': 7.5}
    base.update(params)
    return admin.AdminSession(base, {}, session=session, hide=hide), session


def test_a_call_sends_the_bearer_and_the_arguments_exactly():
    hidden = []
    s, session = recorded(Response(200, {'ok': True}, {'ETag': 'e'}), hide=hidden.append)
    assert (s.endpoint, s.base, s.mode, s.opts.timeout, s.opts.retries) == ('https://iam.test/', 'https://iam.test',
                                                                            'apikey', 7.5, 1)
    answer = s.call('PUT', '/v1/x', 'update x', params={'p': '1'}, body={'name': 'n'}, headers={'If-Match': '*'})
    assert (answer.status, answer.body, answer.etag) == (200, {'ok': True}, 'e')
    token_post, put = session.requests
    assert token_post['url'] == 'https://iam.test/identity/token' and token_post['timeout'] == 7.5
    assert token_post['data'] == {'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': ADMIN_KEY}
    assert put == {'method': 'PUT', 'url': 'https://iam.test/v1/x', 'params': {'p': '1'}, 'json': {'name': 'n'},
                   'headers': {'Authorization': 'Bearer ' + ADMIN_TOKEN, 'Accept': 'application/json',
                               'If-Match': '*'}, 'timeout': 7.5}
    assert hidden == [ADMIN_TOKEN] and (s.iam_id, s.account_id) == ('IBMid-admin', ACCOUNT)
    s.call('GET', '/v1/y', 'read y')
    assert session.requests[-1] == {'method': 'GET', 'url': 'https://iam.test/v1/y', 'params': None, 'json': None,
                                    'headers': {'Authorization': 'Bearer ' + ADMIN_TOKEN, 'Accept': 'application/json'},
                                    'timeout': 7.5}
    assert len(session.requests) == 3 and s.bearer() == ADMIN_TOKEN


def test_the_endpoint_comes_from_the_environment_and_a_token_path_is_dropped():
    s = admin.AdminSession({'api_key': ADMIN_KEY, 'retries': 0, 'timeout': 1.0},
                           {'IBMCLOUD_IAM_ENDPOINT': 'https://iam.env.test/identity/token'}, session=Session())
    assert (s.endpoint, s.base) == ('https://iam.env.test/identity/token', 'https://iam.env.test')
    assert admin.AdminSession({'api_key': ADMIN_KEY}, {}, session=Session()).base == 'https://iam.cloud.ibm.com'


def test_a_profile_admin_assumes_and_the_session_is_kept(tmp_path):
    s, session = recorded(Response(200, {}), admin_trusted_profile=PROFILE_NAME, admin_account=ACCOUNT)
    s.login()
    grants = [r['data']['grant_type'] for r in session.requests]
    assert grants == ['urn:ibm:params:oauth:grant-type:apikey', 'urn:ibm:params:oauth:grant-type:assume']
    assert session.requests[1]['data']['profile_name'] == PROFILE_NAME
    assert session.requests[1]['data']['account'] == ACCOUNT and s.session is session
    path = tmp_path / 'vault-token'
    path.write_text('crtoken.value')
    hidden = []
    s, session = recorded(hide=hidden.append, api_key=None, admin_cr_token_file=str(path),
                          admin_trusted_profile=PROFILE_ID)
    s.login()
    assert [r['data'] for r in session.requests] == [{'grant_type': 'urn:ibm:params:oauth:grant-type:cr-token',
                                                      'cr_token': 'crtoken.value', 'profile_id': PROFILE_ID}]
    assert hidden == ['crtoken.value', ADMIN_TOKEN]


@pytest.mark.parametrize('status, ok, allow', [(200, (200,), ()), (404, (200,), (404,)), (409, (), (404, 409))])
def test_ok_and_allowed_statuses_are_answers(status, ok, allow):
    s, session = recorded(Response(status, {'errors': [{'code': 'x'}]}))
    assert s.call('GET', '/v1/x', 'read x', ok=ok, allow=allow).status == status


@pytest.mark.parametrize('status', [200, 201, 202, 204])
def test_the_default_ok_statuses(status):
    s, session = recorded(Response(status, None))
    assert s.call('DELETE', '/v1/x', 'delete x').status == status


def test_a_refusal_is_an_error_with_code_status_and_body():
    body = {'errors': [{'code': 'not_found', 'message': 'gone'}], 'trace': 't-1'}
    s, session = recorded(Response(404, body))
    with pytest.raises(IamError) as info:
        s.call('GET', '/v1/x', 'read x', ok=(200,), allow=(409,))
    assert info.value.msg == 'Could not read x: IAM answered HTTP 404 (not_found: gone). IAM request id: t-1.'
    assert info.value.details == {'code': 'not_found', 'status': 404, 'body': body}


def test_a_network_failure_names_the_operation_and_the_url():
    s, session = recorded(requests.exceptions.ConnectionError('refused'))
    with pytest.raises(IamError) as info:
        s.call('GET', '/v1/x', 'read x')
    assert info.value.msg == ('Could not read x: IBM Cloud IAM at https://iam.test/v1/x could not be reached (2 '
                              'attempts): refused. Check the endpoint, DNS, proxy and firewall.')
    assert ADMIN_KEY not in info.value.msg and ADMIN_TOKEN not in info.value.msg


def test_pages_ask_each_page_with_the_params_and_the_token():
    page1 = Response(200, {'items': [{'id': 1}, 'junk', {'id': 2}], 'next': {'start': 'S2'}})
    page2 = Response(200, {'items': [{'id': 3}], 'next': {'href': '/v1/p?start=S3'}})
    page3 = Response(200, {'items': None})
    s, session = recorded(page1, page2, page3)
    items = list(s.pages('/v1/p', {'limit': 2}, 'items', 'list p', token_param='start'))
    assert items == [{'id': 1}, {'id': 2}, {'id': 3}]
    assert [r['params'] for r in session.requests[1:]] == [{'limit': 2}, {'limit': 2, 'start': 'S2'},
                                                           {'limit': 2, 'start': 'S3'}]
    s, session = recorded(Response(200, ['not', 'a', 'dict']))
    assert list(s.pages('/v1/q', {}, 'items', 'list q')) == [] and len(session.requests) == 2
    s, session = recorded(Response(200, {'items': [{'id': 1}], 'next': 'https://iam.test/v1/q?pagetoken=T'}),
                          Response(200, {'items': [{'id': 2}], 'next': 'https://iam.test/v1/q?pagetoken=U'}),
                          Response(200, {'items': [{'id': 3}], 'next': 'https://iam.test/v1/q?pagetoken=T'}))
    assert list(s.pages('/v1/q', {'a': 'b'}, 'items', 'list q')) == [{'id': 1}, {'id': 2}, {'id': 3}]
    assert [r['params'] for r in session.requests[1:]] == [{'a': 'b'}, {'a': 'b', 'pagetoken': 'T'},
                                                           {'a': 'b', 'pagetoken': 'U'}]


def test_pages_stop_after_the_bound(monkeypatch):
    monkeypatch.setattr(admin, 'MAX_PAGES', 3)
    answers = [Response(200, {'items': [{'n': n}], 'next': {'start': 'S%d' % n}}) for n in range(5)]
    s, session = recorded(*answers)
    got = []
    with pytest.raises(IamError) as info:
        for item in s.pages('/v1/p', {}, 'items', 'list p', token_param='start'):
            got.append(item)
    assert info.value.msg == 'Could not list p: IAM kept answering more pages after 3.'
    assert got == [{'n': 0}, {'n': 1}, {'n': 2}] and len(session.requests) == 4


@pytest.mark.parametrize('body, token', [
    ({'next': {'start': 7}}, '7'), ({'next': {'start': '', 'href': '/v1/p?start=h'}}, 'h'),
    ({'next': {'href': '/v1/p?pagetoken=p&start=s'}}, 'p'), ({'next': 'https://x/v1?other=1'}, None),
    ({'next': ''}, None), ({'next': 5}, None), ({'next': {'href': None}}, None), ({'next': '/v1?pagetoken='}, None),
    ({'next': '/v1?pagetoken=a&pagetoken=b'}, 'a'),
])
def test_next_token_more(body, token):
    assert admin.next_token(body) == token


def test_the_admin_retry_retries_post_only_on_429_and_never_after_its_total():
    s = admin.AdminSession({'api_key': ADMIN_KEY, 'retries': 2, 'timeout': 1.0}, {})
    https, http = s.session.get_adapter('https://x'), s.session.get_adapter('http://x')
    assert s.session is s.session
    for adapter in (https, http):
        retry = adapter.max_retries
        assert (retry.total, retry.connect, retry.read, retry.status) == (2, 2, 2, 2)
        assert retry.respect_retry_after_header is True and retry.raise_on_status is False
        assert set(retry.status_forcelist) >= {429, 500, 502, 503, 504}
        assert retry.is_retry('POST', 429) and retry.is_retry('post', 429)
        assert not retry.is_retry('POST', 503) and not retry.is_retry('post', 500)
        for method in ('GET', 'PUT', 'DELETE'):
            assert retry.is_retry(method, 503) and retry.is_retry(method, 429)
        assert not retry.is_retry('GET', 404)
        assert not retry._is_method_retryable('POST') and not retry._is_method_retryable('post')
        assert retry._is_method_retryable('PUT') and retry._is_method_retryable('DELETE')
        assert not retry._is_method_retryable('PATCH')
        spent = retry.new(total=0)
        assert not spent.is_retry('POST', 429)


class Module(object):
    def __init__(self, params, diff=False):
        self.params = params
        self.no_log_values = set()
        self._diff = diff
        self.exited = self.failed = None

    def exit_json(self, **result):
        self.exited = result

    def fail_json(self, **result):
        self.failed = result
        raise SystemExit(1)


def test_run_admin_module_hides_the_key_and_gives_the_diff_only_when_asked(monkeypatch):
    monkeypatch.setenv('IBMCLOUD_API_KEY', 'e' * 40)
    monkeypatch.delenv('IC_API_KEY', raising=False)
    seen = []

    def run(module, session):
        seen.append((session.mode, session._key, set(module.no_log_values)))
        return {'changed': True, 'diff': {'before': {}, 'after': {}}}
    module = Module({'iam_endpoint': 'https://iam.test', 'retries': 0, 'timeout': 1.0})
    admin.run_admin_module(module, run)
    assert module.exited == {'changed': True} and seen == [('apikey', 'e' * 40, {'e' * 40})]
    module = Module({'iam_endpoint': 'https://iam.test', 'retries': 0, 'timeout': 1.0}, diff=True)
    admin.run_admin_module(module, run)
    assert module.exited == {'changed': True, 'diff': {'before': {}, 'after': {}}}


def test_run_admin_module_fails_with_the_message_and_code():
    def run(module, session):
        session._hide('secret-token')
        raise IamError('Could not act.', code='X', status=400)
    module = Module({'api_key': 'k' * 40, 'retries': 0, 'timeout': 1.0})
    with pytest.raises(SystemExit):
        admin.run_admin_module(module, run)
    assert module.failed == {'msg': 'Could not act.', 'code': 'X'} and module.exited is None
    assert module.no_log_values == {'k' * 40, 'secret-token'}
    module = Module({'admin_account': ACCOUNT, 'api_key': 'k' * 40})
    with pytest.raises(SystemExit):
        admin.run_admin_module(module, run)
    assert module.failed['msg'].startswith('admin_account: it only goes') and module.no_log_values == set()


def test_the_admin_retry_keeps_the_session_policy_and_adds_put_delete_and_head():
    from ansible_collections.icr.auth.plugins.module_utils._http import BACKOFF_FACTOR, RETRY_STATUSES
    s = admin.AdminSession({'api_key': ADMIN_KEY, 'retries': 3, 'timeout': 1.0}, {})
    retry = s.session.get_adapter('https://iam.test').max_retries
    assert retry.allowed_methods == frozenset(['GET', 'PUT', 'DELETE', 'HEAD'])
    assert retry.backoff_factor == BACKOFF_FACTOR and retry.status_forcelist == RETRY_STATUSES
    assert retry._is_method_retryable('HEAD') and retry._is_method_retryable('GET')
    assert retry.parse_retry_after('1.5') == 1.5    # the session's own Retry (a fraction read) is kept beneath
    assert type(retry).__mro__[1].__name__ == '_Retry'    # one adapter for both schemes, wrapped once
    assert s.session.get_adapter('http://iam.test').max_retries is retry


class OldRetry(requests.adapters.Retry):
    """A Retry that knows method_whitelist only, as urllib3 before 1.26."""

    def __init__(self, method_whitelist=None, **kwargs):
        super().__init__(allowed_methods=method_whitelist, **kwargs)
        self.method_whitelist = method_whitelist

    def new(self, **kwargs):
        kwargs.setdefault('method_whitelist', self.method_whitelist)
        kwargs.pop('allowed_methods', None)
        return super().new(**kwargs)


def test_the_admin_retry_falls_back_to_method_whitelist_and_wraps_each_adapter_once():
    adapters = {'https://': requests.adapters.HTTPAdapter(max_retries=OldRetry(total=2, status_forcelist=[503])),
                'http://': requests.adapters.HTTPAdapter(max_retries=OldRetry(total=1, status_forcelist=[503]))}

    class Session(object):
        def get_adapter(self, url):
            return adapters[url.split('//')[0] + '//']
    admin._admin_retry(Session())
    for prefix, total in (('https://', 2), ('http://', 1)):
        retry = adapters[prefix].max_retries
        assert isinstance(retry, OldRetry) and retry.method_whitelist == frozenset(['GET', 'PUT', 'DELETE', 'HEAD'])
        assert retry.total == total and retry.is_retry('PUT', 503) and not retry.is_retry('POST', 503)
        assert type(retry).__mro__[1] is OldRetry


def test_the_admin_retry_honours_retry_after_as_urllib3_does():
    retry = admin.AdminSession({'api_key': ADMIN_KEY, 'retries': 2, 'timeout': 1.0}, {}).session.get_adapter(
        'https://iam.test').max_retries
    assert retry.is_retry('GET', 413, True) and retry.is_retry('DELETE', 413, has_retry_after=True)
    assert not retry.is_retry('GET', 413) and not retry.is_retry('GET', 413, False)


def test_api_base_strips_only_slashes():
    assert admin.api_base('https://gw.example.test/IAMX/') == 'https://gw.example.test/IAMX'


def test_a_new_session_knows_no_identity_before_its_login():
    s, session = recorded(Response(200, {}))
    assert (s.account_id, s.iam_id, session.requests) == (None, None, [])
    answer = s.call('GET', '/v1/x', 'read x')
    assert answer.response is session.answers[0]


def test_pages_name_the_operation_when_a_page_is_refused():
    s, session = recorded(Response(200, {'items': [{'id': 1}], 'next': {'start': 'S2'}}),
                          Response(500, {'errors': [{'code': 'internal', 'message': 'oops'}]}))
    pages = s.pages('/v1/p', {}, 'items', 'list the policies', token_param='start')
    assert next(pages) == {'id': 1}
    with pytest.raises(IamError) as info:
        next(pages)
    assert info.value.msg == ('Could not list the policies: IAM answered HTTP 500 (internal: oops). IAM may be having '
                              'trouble (2 attempts); run again later.')
    assert [(r['method'], r['url']) for r in session.requests[1:]] == [('GET', 'https://iam.test/v1/p')] * 2
