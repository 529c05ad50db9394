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
