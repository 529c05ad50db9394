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


FLEET_MARKDOWN = '''# IBM Cloud Container Registry credentials of the fleet

2026-12-01T13:00:00Z: 6 hosts, 3 audited, 3 without a result, 1 with problems.

## Summary

### Hosts per identity

| Identity | Hosts | Count |
|---|---|---|
| API key key-2026-05 | web2 | 1 |
| API key key-2026-12 (iam-S-1) | web1 | 1 |
| helper docker-credential-icr | web3 | 1 |
| iam-S-1 | web1 | 1 |
| unknown API key sha256:bbbbbbbbbbbb | web3 | 1 |

Known keys no host holds: key-spare.

### Hosts with problems

| Host | Problems | Kinds |
|---|---|---|
| web3 | 1 | file_mode |

### Hosts without a result

| Host | Why |
|---|---|
| web4 | Failed to connect to the host via ssh |
| web5 | users: no user 'ci' in the password database of this host; name existing users. |
| web6 | the host was not reached, or the play did not run the audit on it |

## Hosts

### web1

Users: deploy.

| User | File | Registry | Method | Username type | Identity | Fingerprint | Expires | Expired |
|---|---|---|---|---|---|---|---|---|
| deploy | /home/deploy/.docker/config.json | us.icr.io | file | iamapikey | API key key-2026-12 (iam-S-1) | \
%(new)s | - | - |
| deploy | /home/deploy/.docker/config.json | de.icr.io | file | iambearer | iam-S-1 | sha256:aaaaaaaaaaaa | \
2026-12-01T14:00:00Z | no |

### web2

Users: deploy.

| User | File | Registry | Method | Username type | Identity | Fingerprint | Expires | Expired |
|---|---|---|---|---|---|---|---|---|
| deploy | /home/deploy/.docker/config.json | us.icr.io | file | iamapikey | API key key-2026-05 | %(old)s | - | - |

### web3

Users: ci.

| User | File | Registry | Method | Username type | Identity | Fingerprint | Expires | Expired |
|---|---|---|---|---|---|---|---|---|
| ci | /home/ci/.docker/config.json | us.icr.io | file | iamapikey | unknown API key sha256:bbbbbbbbbbbb | \
sha256:bbbbbbbbbbbb | - | - |
| ci | /home/ci/.docker/config.json | jp.icr.io | helper (icr) | - | helper docker-credential-icr | - | - | - |

Problems:

- ci, `/home/ci/.docker/config.json`, file_mode: The file ... (mode 0644); chmod 600 it.

### web4

No result: Failed to connect to the host via ssh

### web5

No result: users: no user 'ci' in the password database of this host; name existing users.

### web6

No result: the host was not reached, or the play did not run the audit on it
''' % {'new': NEW, 'old': OLD}


def test_the_whole_markdown_of_a_fleet():
    assert report.markdown(report.build_report(fleet(), KNOWN, '2026-12-01T13:00:00Z')) == FLEET_MARKDOWN


def test_the_markdown_of_no_host_has_its_headings_and_empty_tables_only():
    assert report.markdown(report.build_report({})) == (
        '# IBM Cloud Container Registry credentials of the fleet\n\n'
        '0 hosts, 0 audited, 0 without a result, 0 with problems.\n\n'
        '## Summary\n\n### Hosts per identity\n\n| Identity | Hosts | Count |\n|---|---|---|\n\n'
        '### Hosts with problems\n\n| Host | Problems | Kinds |\n|---|---|---|\n\n## Hosts\n')


def test_a_host_without_icr_credentials_and_cells_that_need_escaping():
    escaped = {'user': 'ci', 'path': '/c\\d|e', 'format': 'docker', 'registries': [],
               'problems': [{'code': 'token_expired', 'msg': 'line one\nline|two'}]}
    expired = {'user': None, 'path': '/x', 'format': 'docker',
               'registries': [entry(username_type='iambearer', fp='sha256:aaaaaaaaaaaa', iam_id='iam-S-1',
                                    expired=True, expires_at='', method='file')]}
    files = [escaped, expired]
    built = report.build_report({'b': {'users': ['ci', 'root'], 'files': files}, 10: {'files': []},
                                 9: {'failed': True}}, generated_at='')
    assert report.markdown(built) == (
        '# IBM Cloud Container Registry credentials of the fleet\n\n'
        '3 hosts, 2 audited, 1 without a result, 1 with problems.\n\n'
        '## Summary\n\n### Hosts per identity\n\n| Identity | Hosts | Count |\n|---|---|---|\n| iam-S-1 | b | 1 |\n\n'
        '### Hosts with problems\n\n| Host | Problems | Kinds |\n|---|---|---|\n| b | 1 | token_expired |\n\n'
        '### Hosts without a result\n\n| Host | Why |\n|---|---|\n| 9 | the audit failed without a message |\n\n'
        '## Hosts\n\n### 10\n\nUsers: none.\n\nNo ICR credentials.\n\n### 9\n\n'
        'No result: the audit failed without a message\n\n### b\n\nUsers: ci, root.\n\n'
        '| User | File | Registry | Method | Username type | Identity | Fingerprint | Expires | Expired |\n'
        '|---|---|---|---|---|---|---|---|---|\n'
        '| - | /x | us.icr.io | file | iambearer | iam-S-1 | sha256:aaaaaaaaaaaa | - | yes |\n\n'
        'Problems:\n\n- ci, `/c\\d|e`, token_expired: line one line\\|two\n')


@pytest.mark.parametrize('value, cell', [
    (None, '-'), ('', '-'), (True, 'yes'), (False, 'no'), (0, '0'), (3, '3'), ('a\\b', 'a\\\\b'), ('a|b', 'a\\|b'),
    ('a\nb', 'a b'), ('\\|', '\\\\\\|'),
])
def test_a_cell_shows_nothing_as_a_dash_booleans_as_words_and_escapes_the_table(value, cell):
    assert report._cell(value) == cell


NOTHING_LOOKED_UP = dict((k, None) for k in report.LOOKUP_FIELDS)


def test_known_keys_become_a_table_by_fingerprint_with_what_iam_said():
    assert report.check_known_keys(None) == {}
    assert report.check_known_keys([]) == {}
    assert report.check_known_keys(({'name': 'k', 'fingerprint': NEW, 'iam_id': ''},
                                    {'name': 'l', 'fingerprint': OLD, 'iam_id': 5, 'found': False, 'locked': True,
                                     'problem': 'IAM does not know this key.', 'other': 'x', 'key': None,
                                     'key_file': None},
                                    {'name': 'k', 'fingerprint': NEW, 'iam_id': 'iam-S-1', 'service_id': 'ServiceId-1',
                                     'service_id_name': 'pull', 'key_name': 'kk', 'account_id': 'acc',
                                     'disabled': False, 'expired': True})) == {
        NEW: dict(NOTHING_LOOKED_UP, name='k', iam_id='iam-S-1', service_id='ServiceId-1', service_id_name='pull',
                  key_name='kk', account_id='acc', disabled=False, expired=True),
        OLD: dict(NOTHING_LOOKED_UP, name='l', iam_id=None, found=False, locked=True,
                  problem='IAM does not know this key.'),
    }


FIX_FINGERPRINT = ('fingerprint is not a fingerprint ("sha256:" and 12 hex digits). Compute it on the controller from '
                   'the key with the filter icr.auth.credential_fingerprint; never give the key itself.')
FIX_KEY = ('give the fingerprint only, never the key or its file; the module icr.auth.icr_api_key_info turns keys '
           'into fingerprints and identities.')


@pytest.mark.parametrize('known, message', [
    ('abc', 'known_keys: give a list of {name, fingerprint} items.'),
    (b'abc', 'known_keys: give a list of {name, fingerprint} items.'),
    ({'name': 'k', 'fingerprint': NEW}, 'known_keys: give a list of {name, fingerprint} items.'),
    (5, 'known_keys: give a list of {name, fingerprint} items.'),
    ([{'name': 'k', 'fingerprint': NEW}, 'k'], 'known_keys[1]: give a mapping with a name and a fingerprint.'),
    ([{'name': '', 'fingerprint': NEW}], 'known_keys[0]: give a mapping with a name and a fingerprint.'),
    ([{'name': 5, 'fingerprint': NEW}], 'known_keys[0]: give a mapping with a name and a fingerprint.'),
    ([{'name': 'k'}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': 7}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': NEW.upper()}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': NEW + '0'}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': 'x' + NEW}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': NEW[:-1] + 'g'}], 'known_keys[0] (k): ' + FIX_FINGERPRINT),
    ([{'name': 'k', 'fingerprint': NEW, 'key': ''}], 'known_keys[0] (k): ' + FIX_KEY),
    ([{'name': 'k', 'fingerprint': NEW, 'key_file': ''}], 'known_keys[0] (k): ' + FIX_KEY),
    ([{'name': 'k', 'fingerprint': NEW}, {'name': 'm', 'fingerprint': OLD}, {'name': 'l', 'fingerprint': OLD}],
     'known_keys[2] (l): the same fingerprint as m.'),
])
def test_each_wrong_known_key_is_named_with_its_fix(known, message):
    with pytest.raises(InputError) as err:
        report.check_known_keys(known)
    assert err.value.msg == message


@pytest.mark.parametrize('key, label', [
    ({'name': 'k'}, 'API key k'),
    ({'name': 'k', 'service_id_name': 'pull', 'iam_id': 'iam-S-1'}, 'API key k of service ID pull (iam-S-1)'),
    ({'name': 'k', 'service_id_name': '', 'iam_id': ''}, 'API key k'),
    ({'name': 'k', 'found': False, 'disabled': True, 'expired': True}, 'API key k, unknown to IAM'),
    ({'name': 'k', 'found': None, 'disabled': True, 'expired': True}, 'API key k, disabled'),
    ({'name': 'k', 'found': True, 'disabled': False, 'expired': True}, 'API key k, expired'),
    ({'name': 'k', 'found': True, 'disabled': False, 'expired': False}, 'API key k'),
])
def test_a_key_label_names_the_key_its_service_id_and_why_it_does_not_work(key, label):
    assert report.key_label(key) == label


@pytest.mark.parametrize('fields, identity', [
    ({'method': 'helper', 'helper': 'pass'}, ('helper docker-credential-pass', None)),
    ({'method': 'store', 'helper': 'desktop', 'username_type': 'iambearer', 'iam_id': 'iam-x'},
     ('store docker-credential-desktop', None)),
    ({'username_type': 'iamapikey', 'fp': 'sha256:bbbbbbbbbbbb'}, ('unknown API key sha256:bbbbbbbbbbbb', None)),
    ({'username_type': 'trusted_profile', 'iam_id': None}, ('trusted profile with API key key-2026-12', 'key-2026-12')),
    ({'username_type': 'trusted_profile', 'iam_id': '', 'fp': 'sha256:bbbbbbbbbbbb'},
     ('trusted profile with unknown API key sha256:bbbbbbbbbbbb', None)),
    ({'username_type': 'iambearer', 'iam_id': 'iam-x'}, ('iam-x', None)),
    ({'username_type': 'iamrefresh', 'iam_id': 'iam-y'}, ('iam-y', None)),
    ({'username_type': 'iambearer', 'iam_id': None, 'fp': 'sha256:aaaaaaaaaaaa'},
     ('iambearer sha256:aaaaaaaaaaaa', None)),
    ({'username_type': 'identitytoken', 'iam_id': 'iam-x', 'fp': 'sha256:aaaaaaaaaaaa'},
     ('identitytoken sha256:aaaaaaaaaaaa', None)),
    ({'username_type': 'other', 'fp': OLD}, ('other ' + OLD, None)),
    ({'username_type': '', 'fp': OLD}, ('no credential', None)),
])
def test_the_identity_of_each_kind_of_entry(fields, identity):
    assert report.identity_of(entry(**fields), report.check_known_keys(KNOWN)) == identity


@pytest.mark.parametrize('result, error', [
    (None, 'the host was not reached, or the play did not run the audit on it'),
    (['files'], 'the host was not reached, or the play did not run the audit on it'),
    ({'unreachable': True, 'files': []}, 'the audit failed without a message'),
    ({'failed': True, 'msg': 'boom', 'files': []}, 'boom'),
    ({'failed': True, 'msg': 5}, '5'),
    ({'msg': '', 'files': 'x'}, 'the audit failed without a message'),
    ({'users': ['a']}, 'the audit failed without a message'),
])
def test_a_host_without_a_usable_result_says_why(result, error):
    assert report.build_report({'h': result})['hosts'] == [
        {'host': 'h', 'audited': False, 'error': error, 'users': [], 'files': [], 'entries': [], 'problems': []}]


def test_a_host_view_copies_files_entries_and_problems_and_adds_what_iam_said_of_a_key():
    known = [{'name': 'key-a', 'fingerprint': NEW, 'iam_id': 'iam-ServiceId-1', 'account_id': 'acc-1',
              'problem': 'disabled', 'disabled': True},
             {'name': 'key-b', 'fingerprint': OLD, 'iam_id': 'iam-ServiceId-2', 'account_id': 'acc-2'}]
    item = {'user': 'deploy', 'path': '/p', 'format': 'containers', 'exists': True, 'readable': True, 'parsed': True,
            'owner': 'deploy', 'mode': '0600', 'dir_mode': '0700', 'creds_store': None, 'other_registries': 2,
            'extra': 'dropped',
            'registries': [entry(), entry('de.icr.io', fp=OLD, iam_id='iam-host', account_id='acc-host'),
                           entry('jp.icr.io', username_type='iambearer', fp=NEW, iam_id=None)],
            'problems': [{'code': 'file_mode', 'msg': 'm'}]}
    hosts = report.build_report({'h': {'users': None, 'files': [item, {'path': '/q'}]}}, known)['hosts']
    row = dict(user='deploy', path='/p', format='containers', namespace=None, region='us-south', method='file',
               helper=None, username_type='iamapikey', expires_at=None, expired=None)
    assert hosts == [{'host': 'h', 'audited': True, 'error': None, 'users': [], 'files': [
        {'user': 'deploy', 'path': '/p', 'format': 'containers', 'exists': True, 'readable': True, 'parsed': True,
         'owner': 'deploy', 'mode': '0600', 'dir_mode': '0700', 'creds_store': None, 'other_registries': 2},
        dict((k, '/q' if k == 'path' else None) for k in ('user',) + report.FILE_FIELDS)], 'entries': [
        dict(row, registry='us.icr.io', host='us.icr.io', fingerprint=NEW, iam_id='iam-ServiceId-1',
             account_id='acc-1', identity='API key key-a (iam-ServiceId-1), disabled', key_name='key-a'),
        dict(row, registry='de.icr.io', host='de.icr.io', fingerprint=OLD, iam_id='iam-host', account_id='acc-host',
             identity='API key key-b (iam-ServiceId-2)', key_name='key-b'),
        dict(row, registry='jp.icr.io', host='jp.icr.io', username_type='iambearer', fingerprint=NEW, iam_id=None,
             account_id=None, identity='iambearer ' + NEW, key_name=None),
    ], 'problems': [
        {'code': 'api_key_not_working', 'user': 'deploy', 'path': '/p', 'msg': 'us.icr.io: API key key-a - disabled'},
        {'code': 'file_mode', 'msg': 'm', 'user': 'deploy', 'path': '/p'},
    ]}]


def test_the_summary_counts_hosts_identities_and_problems():
    problems = [{'code': 'token_expired', 'msg': 'a'}, {'code': 'file_mode', 'msg': 'b'},
                {'code': 'token_expired', 'msg': 'c'}]
    results = {'web3': result('ci', entry(fp=OLD), entry('de.icr.io', method='none', username_type=None, fp=None),
                              problems=problems),
               'web1': result('ci', entry(fp=OLD), problems=[{'code': 'owner_mismatch', 'msg': 'd'}]),
               'web2': result('ci', entry('de.icr.io', fp=OLD)),
               'web0': {'unreachable': True, 'msg': 'down'}}
    known = KNOWN + [{'name': 'key-0', 'fingerprint': 'sha256:111111111111'}]
    assert report.build_report(results, known, 'when')['summary'] == {
        'hosts': 4, 'audited': 3, 'without_result': [{'host': 'web0', 'error': 'down'}],
        'identities': [{'identity': 'API key key-2026-05', 'hosts': ['web1', 'web2', 'web3']}],
        'hosts_with_problems': [{'host': 'web1', 'problems': 1, 'codes': ['owner_mismatch']},
                                {'host': 'web3', 'problems': 3, 'codes': ['file_mode', 'token_expired']}],
        'problem_counts': {'file_mode': 1, 'owner_mismatch': 1, 'token_expired': 2},
        'known_keys_unused': ['key-0', 'key-2026-12', 'key-spare'],
    }
    built = report.build_report(results, known, 'when')
    assert built['generated_at'] == 'when' and list(built['summary']['problem_counts']) == [
        'file_mode', 'owner_mismatch', 'token_expired']
    assert report.build_report({})['generated_at'] is None


def test_the_markdown_summary_joins_hosts_keys_and_kinds_with_commas():
    results = {'web3': result('ci', entry(fp=OLD), problems=[{'code': 'token_expired', 'msg': 'a'},
                                                             {'code': 'file_mode', 'msg': 'b'}]),
               'web1': result('ci', entry(fp=OLD))}
    text = report.markdown(report.build_report(results, KNOWN))
    assert text.startswith(
        '# IBM Cloud Container Registry credentials of the fleet\n\n'
        '2 hosts, 2 audited, 0 without a result, 1 with problems.\n\n'
        '## Summary\n\n### Hosts per identity\n\n| Identity | Hosts | Count |\n|---|---|---|\n'
        '| API key key-2026-05 | web1, web3 | 2 |\n\n'
        'Known keys no host holds: key-2026-12, key-spare.\n\n'
        '### Hosts with problems\n\n| Host | Problems | Kinds |\n|---|---|---|\n| web3 | 2 | file_mode, token_expired |\n\n'
        '## Hosts\n\n### web1\n\n')


@pytest.mark.parametrize('error, last_line', [
    ('ssh: connect to host web9 port 22: Connection refused\n',
     'No result: ssh: connect to host web9 port 22: Connection refused '),
    ('UNREACHABLE! HOST BOX', 'No result: UNREACHABLE! HOST BOX'),
])
def test_the_markdown_ends_with_one_newline_after_the_last_line_as_it_is(error, last_line):
    text = report.markdown(report.build_report({'web9': {'unreachable': True, 'msg': error}}))
    assert text.endswith('\n### web9\n\n' + last_line + '\n')
