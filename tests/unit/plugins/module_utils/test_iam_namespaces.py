# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_namespaces: the ICR namespaces API per region, and the refusal of a missing namespace."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_admin as admin
from ansible_collections.icr.auth.plugins.module_utils import _iam_namespaces as ns
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError, RegistryError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import ACCOUNT, ADMIN_KEY, FakeIam


def session(iam):
    return admin.AdminSession({'iam_endpoint': iam.url, 'api_key': ADMIN_KEY, 'retries': 0, 'timeout': 5.0}, {})


def ns_requests(iam):
    return [r for r in iam.requests if r['path'].endswith('/api/v1/namespaces')]


@pytest.mark.parametrize('region, endpoint, url', [
    ('us-south', None, 'https://us.icr.io/api/v1/namespaces'),
    ('global', None, 'https://icr.io/api/v1/namespaces'),
    ('eu-de', 'http://127.0.0.1:8/', 'http://127.0.0.1:8/api/v1/namespaces'),
    ('eu-de', 'https://proxy.example/{host}', 'https://proxy.example/de.icr.io/api/v1/namespaces'),
])
def test_namespaces_url(region, endpoint, url):
    assert ns.namespaces_url(region, endpoint) == url


def test_a_bad_endpoint_names_the_option():
    with pytest.raises(InputError, match='registry_api_endpoint'):
        ns.namespaces_url('us-south', 'us.icr.io')


@pytest.mark.parametrize('body, names', [
    (['a', 'b'], ['a', 'b']), ([{'name': 'a'}, {'namespace': 'b'}], ['a', 'b']), ({'namespaces': ['a']}, ['a']),
    ({'x': 1}, None), ([1], None), (None, None),
])
def test_names_of(body, names):
    assert ns.names_of(body) == names


def test_each_region_is_asked_once_with_account_and_bearer():
    with FakeIam() as iam:
        iam.namespaces = {'us.icr.io': ['web', 'base'], 'icr.io': ['base']}
        s = session(iam)
        keys = [('region', 'us-south', 'web', ()), ('region', 'us-south', 'base', ()), ('geography', 'global', 'base', ()),
                ('region', 'us-south', None, ())]
        ns.check_namespaces(s, ACCOUNT, keys, iam.url + '/{host}')
        asked = ns_requests(iam)
        assert sorted(r['path'] for r in asked) == ['/icr.io/api/v1/namespaces', '/us.icr.io/api/v1/namespaces']
        assert all(r['headers']['Account'] == ACCOUNT and r['headers']['Authorization'] == 'Bearer ' + s.bearer()
                   for r in asked)


def test_a_missing_namespace_lists_what_exists():
    with FakeIam() as iam:
        iam.namespaces = {'us.icr.io': ['web', 'base'], 'icr.io': ['base']}
        with pytest.raises(IamError) as info:
            ns.check_namespaces(session(iam), ACCOUNT, [('region', 'us-south', 'wbe', ()), ('geography', 'global', 'web', ())],
                                iam.url + '/{host}')
    msg = info.value.msg
    assert 'wbe in us-south (us.icr.io; it has: base, web)' in msg and 'web in global (icr.io; it has: base)' in msg
    assert 'Nothing was changed' in msg and 'check_namespaces: false' in msg


@pytest.mark.parametrize('status, body, words', [
    (403, {'code': 'CRG0002E'}, 'Container Registry role'), (404, b'', 'registry_api_endpoint'),
    (200, {'what': 'ever'}, 'not a list of namespaces'),
])
def test_registry_refusals_are_clear(status, body, words):
    with FakeIam() as iam:
        iam.faults.append(('GET', '/api/v1/namespaces', status, {}, body))
        with pytest.raises(RegistryError) as info:
            ns.check_namespaces(session(iam), ACCOUNT, [('region', 'us-south', 'web', ())], iam.url)
    assert words in info.value.msg and f'HTTP {status}' in info.value.msg and 'check_namespaces: false' in info.value.msg


def test_a_bad_endpoint_word_for_word():
    for endpoint in ('us.icr.io', 'https://us.icr.io/a b'):
        with pytest.raises(InputError) as info:
            ns.namespaces_url('us-south', endpoint)
        assert info.value.msg == (f'registry_api_endpoint: {endpoint!r} is not an http(s) URL (for example '
                                  'https://us.icr.io, or https://{host} with the region host put in).')
    assert ns.namespaces_url('us-south', 'https://proxy.example/BOX/') == 'https://proxy.example/BOX/api/v1/namespaces'


def test_the_request_accepts_json_and_is_bounded_by_the_timeout():
    with FakeIam() as iam:
        s = session(iam)
        sent = []
        real_get = s.session.get

        def spy(url, **kwargs):
            sent.append(kwargs.get('timeout', 'unset'))
            return real_get(url, **kwargs)
        s.session.get = spy
        assert ns.registry_namespaces(s, ACCOUNT, 'us-south', iam.url) == ['web', 'base', 'apps']
        assert ns_requests(iam)[0]['headers']['Accept'] == 'application/json' and sent == [5.0]


def test_a_registry_that_cannot_be_reached_word_for_word():
    with FakeIam() as iam:
        with pytest.raises(RegistryError) as info:
            ns.registry_namespaces(session(iam), ACCOUNT, 'us-south', 'http://127.0.0.1:1')
    msg = info.value.msg
    assert msg.startswith('Could not list the namespaces of the us-south registry (us.icr.io): the Container Registry '
                          'API at http://127.0.0.1:1/api/v1/namespaces could not be reached (1 attempt): ')
    assert msg.endswith(' Set registry_api_endpoint, or check_namespaces: false to skip the check.')


@pytest.mark.parametrize('status, body, advice', [
    (401, {'code': 'CRG0001E'}, 'the administrator needs a Container Registry role that lists namespaces (Reader or '
                                'Manager) in account ' + ACCOUNT),
    (403, {'code': 'CRG0002E'}, 'the administrator needs a Container Registry role that lists namespaces (Reader or '
                                'Manager) in account ' + ACCOUNT),
    (404, ['web'], 'check registry_api_endpoint, or run again later'),
    (500, b'', 'check registry_api_endpoint, or run again later'),
    (200, {'what': 'ever'}, 'the answer is not a list of namespaces; check registry_api_endpoint'),
])
def test_registry_refusals_word_for_word(status, body, advice):
    with FakeIam() as iam:
        iam.faults.append(('GET', '/api/v1/namespaces', status, {}, body))
        with pytest.raises(RegistryError) as info:
            ns.registry_namespaces(session(iam), ACCOUNT, 'eu-de', iam.url)
        url = iam.url + '/api/v1/namespaces'
    assert info.value.msg == (f'Could not list the namespaces of the eu-de registry (de.icr.io) at {url}: HTTP {status}; '
                              f'{advice}. Or set check_namespaces: false to skip the check.')
    assert info.value.details == {'status': status}


def test_a_missing_namespace_word_for_word():
    with FakeIam() as iam:
        iam.namespaces = {'us.icr.io': [], 'icr.io': ['ns%02d' % i for i in range(21)],
                          'de.icr.io': ['ns%02d' % i for i in range(20)]}
        keys = [('region', 'us-south', 'web', ()), ('region', 'us-south', 'base', ()), ('geography', 'global', 'web', ()),
                ('region', 'eu-de', 'web', ())]
        with pytest.raises(IamError) as info:
            ns.check_namespaces(session(iam), ACCOUNT, keys, iam.url + '/{host}')
    first20 = ', '.join('ns%02d' % i for i in range(20))
    assert info.value.msg == (f'access: no such namespace in account {ACCOUNT}: web in eu-de (de.icr.io; it has: '
                              f'{first20}); web in global (icr.io; it has: {first20} ...); base, web in us-south '
                              '(us.icr.io; it has: none). Nothing was changed in IAM. Create the namespace first '
                              '(ibmcloud cr namespace-add), fix the name, or set check_namespaces: false to grant on it '
                              'anyway.')


def test_any_geography_is_the_global_registry():
    with FakeIam() as iam:
        iam.namespaces = {'icr.io': ['base']}
        with pytest.raises(IamError) as info:
            ns.check_namespaces(session(iam), ACCOUNT, [('geography', 'us-south', 'web', ())], iam.url + '/{host}')
        assert [r['path'] for r in ns_requests(iam)] == ['/icr.io/api/v1/namespaces']
    assert 'web in global (icr.io; it has: base)' in info.value.msg
