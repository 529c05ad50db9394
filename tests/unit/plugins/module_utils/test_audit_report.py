# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_audit_report: the fleet report from many hosts' icr_login_info results, as data and as Markdown."""

from __future__ import annotations

import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _audit_report as report
from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, OTHER_KEY

OLD, NEW = fingerprint(OTHER_KEY), fingerprint(API_KEY)
KNOWN = [{'name': 'key-2026-05', 'fingerprint': OLD}, {'name': 'key-2026-12', 'fingerprint': NEW, 'iam_id': 'iam-S-1'},
         {'name': 'key-spare', 'fingerprint': 'sha256:000000000000'}]


def entry(registry='us.icr.io', method='file', username_type='iamapikey', fp=NEW, **extra):
    found = {'registry': registry, 'host': registry, 'namespace': None, 'region': 'us-south', 'method': method,
             'helper': None, 'username_type': username_type, 'fingerprint': fp, 'iam_id': None, 'account_id': None,
             'expires_at': None, 'expired': None}
    found.update(extra)
    return found


def result(user, *entries, problems=()):
    return {'changed': False, 'users': [user], 'files': [
        {'user': user, 'path': f'/home/{user}/.docker/config.json', 'format': 'docker', 'exists': True,
         'registries': list(entries), 'problems': list(problems), 'other_registries': 0}]}


def fleet():
    return {
        'web2': result('deploy', entry(fp=OLD)),
        'web1': result('deploy', entry(), entry('de.icr.io', username_type='iambearer', fp='sha256:aaaaaaaaaaaa',
                                                iam_id='iam-S-1', expires_at='2026-12-01T14:00:00Z', expired=False)),
        'web3': result('ci', entry(fp='sha256:bbbbbbbbbbbb'), entry('jp.icr.io', method='helper', helper='icr',
                                                                    username_type=None, fp=None),
                       problems=[{'code': 'file_mode', 'msg': 'The file ... (mode 0644); chmod 600 it.'}]),
        'web4': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh', 'changed': False},
        'web5': {'failed': False, 'msg': "users: no user 'ci' in the password database of this host; name existing users."},
        'web6': None,
    }


def test_identities_name_known_keys_and_tokens_and_say_which_hosts_hold_the_old_key():
    built = report.build_report(fleet(), KNOWN, '2026-12-01T13:00:00Z')
    summary = built['summary']
    assert [h['host'] for h in built['hosts']] == ['web1', 'web2', 'web3', 'web4', 'web5', 'web6']
    assert summary['identities'] == [
        {'identity': 'API key key-2026-05', 'hosts': ['web2']},
        {'identity': 'API key key-2026-12 (iam-S-1)', 'hosts': ['web1']},
        {'identity': 'helper docker-credential-icr', 'hosts': ['web3']},
        {'identity': 'iam-S-1', 'hosts': ['web1']},
        {'identity': 'unknown API key sha256:bbbbbbbbbbbb', 'hosts': ['web3']},
    ]
    assert (summary['hosts'], summary['audited']) == (6, 3)
    assert [w['host'] for w in summary['without_result']] == ['web4', 'web5', 'web6']
    assert 'ssh' in summary['without_result'][0]['error'] and "no user 'ci'" in summary['without_result'][1]['error']
    assert summary['hosts_with_problems'] == [{'host': 'web3', 'problems': 1, 'codes': ['file_mode']}]
    assert summary['problem_counts'] == {'file_mode': 1} and summary['known_keys_unused'] == ['key-spare']
    web2 = built['hosts'][1]
    assert web2['entries'][0]['key_name'] == 'key-2026-05' and web2['entries'][0]['user'] == 'deploy'
    assert built['hosts'][2]['problems'][0]['path'] == '/home/ci/.docker/config.json'
    json.dumps(built)


def test_a_helper_or_store_is_the_identity_even_beside_a_credential_in_the_file():
    known = report.check_known_keys(KNOWN)
    assert report.identity_of(entry(method='helper', helper='icr'), known) == ('helper docker-credential-icr', None)
    assert report.identity_of(entry(method='store', helper='desktop'), known) == ('store docker-credential-desktop', None)
    assert report.identity_of(entry(method='file'), known) == ('API key key-2026-12 (iam-S-1)', 'key-2026-12')
    assert report.identity_of(entry(method='none', username_type=None, fp=None), known) == ('no credential', None)


def test_markdown_has_the_summary_every_host_and_its_rows():
    text = report.markdown(report.build_report(fleet(), KNOWN, '2026-12-01T13:00:00Z'))
    assert text.startswith('# IBM Cloud Container Registry credentials of the fleet\n')
    assert '2026-12-01T13:00:00Z: 6 hosts, 3 audited, 3 without a result, 1 with problems.' in text
    assert '| API key key-2026-05 | web2 | 1 |' in text
    assert '| web3 | 1 | file_mode |' in text
    assert '| web4 | Failed to connect to the host via ssh |' in text
    assert ('| deploy | /home/deploy/.docker/config.json | de.icr.io | file | iambearer | iam-S-1 | sha256:aaaaaaaaaaaa '
            '| 2026-12-01T14:00:00Z | no |') in text
    assert '| ci | /home/ci/.docker/config.json | jp.icr.io | helper (icr) | - | helper docker-credential-icr | - |' in text
    assert '- ci, `/home/ci/.docker/config.json`, file_mode: The file ... (mode 0644); chmod 600 it.' in text
    assert 'Known keys no host holds: key-spare.' in text
    for host in ('web1', 'web2', 'web3', 'web4', 'web5', 'web6'):
        assert f'\n### {host}\n' in text


def test_a_cell_cannot_break_the_table():
    hostile = result('x|y', entry(registry='us.icr.io'))
    text = report.markdown(report.build_report({'h|1\nnext': hostile}))
    assert '### h\\|1 next' in text and '| x\\|y |' in text


@pytest.mark.parametrize('known, message', [
    ('abc', 'known_keys: give a list'),
    ([{'fingerprint': NEW}], 'known_keys[0]: give a mapping with a name'),
    ([{'name': 'k', 'fingerprint': API_KEY}], 'known_keys[0] (k): fingerprint is not a fingerprint'),
    ([{'name': 'k', 'fingerprint': NEW}, {'name': 'l', 'fingerprint': NEW}], 'known_keys[1] (l): the same fingerprint as k'),
])
def test_known_keys_are_checked_and_a_key_given_by_mistake_is_never_shown(known, message):
    with pytest.raises(InputError) as err:
        report.build_report({}, known)
    assert err.value.msg.startswith(message) and API_KEY not in err.value.msg
