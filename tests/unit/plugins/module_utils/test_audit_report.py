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
    ([{'name': 'k', 'fingerprint': NEW, 'key': API_KEY}], 'known_keys[0] (k): give the fingerprint only'),
    ([{'name': 'k', 'fingerprint': NEW, 'key_file': '/x'}], 'known_keys[0] (k): give the fingerprint only'),
])
def test_known_keys_are_checked_and_a_key_given_by_mistake_is_never_shown(known, message):
    with pytest.raises(InputError) as err:
        report.build_report({}, known)
    assert err.value.msg.startswith(message) and API_KEY not in err.value.msg


def test_a_trusted_profile_login_names_the_profile_and_the_known_key_behind_it():
    known = report.check_known_keys(KNOWN)
    profile = 'iam-Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
    assert report.identity_of(entry(username_type='trusted_profile', iam_id=profile), known) == (
        'trusted profile %s with API key key-2026-12' % profile, 'key-2026-12')
    assert report.identity_of(entry(username_type='trusted_profile', iam_id=profile, fp='sha256:bbbbbbbbbbbb'), known) == (
        'trusted profile %s with unknown API key sha256:bbbbbbbbbbbb' % profile, None)


def test_keys_looked_up_in_iam_name_their_identity_and_a_key_that_does_not_work_is_a_problem():
    """known_keys as icr_api_key_info returns them: the identity IAM named, and why a key does not work."""
    looked_up = {'looked_up': True, 'found': True, 'key_name': 'key-2026-12', 'iam_id': 'iam-ServiceId-1',
                 'account_id': 'acc-1', 'service_id': 'ServiceId-1', 'service_id_name': 'web-fleet-pull',
                 'locked': False, 'disabled': False, 'expired': False, 'problem': None}
    known = [dict(looked_up, name='key-2026-12', fingerprint=NEW),
             dict(looked_up, name='key-2026-05', fingerprint=OLD, found=False, iam_id=None, account_id=None,
                  service_id=None, service_id_name=None, problem='IAM does not know this key.'),
             dict(looked_up, name='key-off', fingerprint='sha256:cccccccccccc', disabled=True, problem='disabled')]
    built = report.build_report({'web1': result('deploy', entry()), 'web2': result('deploy', entry(fp=OLD)),
                                 'web3': result('ci', entry(fp='sha256:cccccccccccc'))}, known)
    assert [(i['identity'], i['hosts']) for i in built['summary']['identities']] == [
        ('API key key-2026-05, unknown to IAM', ['web2']),
        ('API key key-2026-12 of service ID web-fleet-pull (iam-ServiceId-1)', ['web1']),
        ('API key key-off of service ID web-fleet-pull (iam-ServiceId-1), disabled', ['web3'])]
    web1, web2, web3 = built['hosts']
    assert (web1['entries'][0]['iam_id'], web1['entries'][0]['account_id']) == ('iam-ServiceId-1', 'acc-1')
    assert web1['problems'] == []
    assert [(p['code'], p['user']) for p in web2['problems']] == [('api_key_not_working', 'deploy')]
    assert 'key-2026-05' in web2['problems'][0]['msg'] and 'does not know' in web2['problems'][0]['msg']
    assert [p['code'] for p in web3['problems']] == ['api_key_not_working']
    assert [h['host'] for h in built['summary']['hosts_with_problems']] == ['web2', 'web3']
    text = report.markdown(built)
    assert 'API key key-2026-12 of service ID web-fleet-pull (iam-ServiceId-1)' in text and 'api_key_not_working' in text
