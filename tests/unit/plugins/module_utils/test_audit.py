# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_audit: what an auth file holds for ICR, described without secrets; files read as icr_login reads them."""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import shutil
import tempfile
import time

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _audit as audit
from ansible_collections.icr.auth.plugins.module_utils._credential import encode_auth, fingerprint
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, OTHER_KEY, iam_token

NOW = 1800000000


def me():
    return pwd.getpwuid(os.geteuid())


def by_registry(seen):
    return dict((e['registry'], e) for e in seen['registries'])


@pytest.mark.parametrize('key, expected', [
    ('us.icr.io', ('us.icr.io', None, False)),
    ('https://us.icr.io/v1/', ('us.icr.io', None, False)),
    ('US.ICR.IO', ('us.icr.io', None, False)),
    ('private.de.icr.io', ('private.de.icr.io', None, False)),
    ('us.icr.io/web', ('us.icr.io', 'web', False)),
    ('icr.io/base/', ('icr.io', 'base', False)),
    ('registry.ng.bluemix.net', ('registry.ng.bluemix.net', None, True)),
    ('docker.io', None), ('index.docker.io/v1/', None), ('icr.io.example.com', None), ('evil-us.icr.io', None), (7, None),
])
def test_icr_scope_recognises_every_form_of_an_icr_host_and_nothing_else(key, expected):
    assert audit.icr_scope(key) == expected


def test_methods_username_types_and_non_icr_entries():
    token = iam_token(iam_id='iam-ServiceId-abc', account='acc1', now=NOW)
    data = {'auths': {
        'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
        'de.icr.io': {'auth': encode_auth('iambearer', token)},
        'jp.icr.io': {},
        'docker.io': {'auth': encode_auth('me', 'pw')},
        'quay.io': {'auth': encode_auth('me', 'pw')},
    }, 'credHelpers': {'jp.icr.io': 'icr', 'uk.icr.io': 'pass', 'gcr.io': 'gcloud'}}
    seen = audit.analyse(data, 'docker', now=NOW)
    got = by_registry(seen)
    assert sorted(got) == ['de.icr.io', 'jp.icr.io', 'uk.icr.io', 'us.icr.io']
    assert seen['other_registries'] == 3 and seen['problems'] == [] and seen['creds_store'] is None
    assert got['us.icr.io']['method'] == 'file' and got['us.icr.io']['username_type'] == 'iamapikey'
    assert got['us.icr.io']['fingerprint'] == fingerprint(API_KEY) and got['us.icr.io']['iam_id'] is None
    bearer = got['de.icr.io']
    assert (bearer['username_type'], bearer['iam_id'], bearer['account_id']) == ('iambearer', 'iam-ServiceId-abc', 'acc1')
    assert bearer['expires_at'] == '2027-01-15T09:00:00Z' and bearer['expired'] is False
    assert bearer['fingerprint'] == fingerprint(token) and bearer['region'] == 'eu-de'
    assert (got['jp.icr.io']['method'], got['jp.icr.io']['helper']) == ('helper', 'icr')
    assert (got['uk.icr.io']['method'], got['uk.icr.io']['helper'], got['uk.icr.io']['username_type']) == (
        'helper', 'pass', None)
    text = json.dumps(seen)
    assert API_KEY not in text and token not in text and token.split('.')[1] not in text


def test_an_expired_token_a_plaintext_key_and_a_store_that_captures_icr_hosts_are_problems():
    token = iam_token(now=NOW - 7200)
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
                      'de.icr.io': {'auth': encode_auth('iambearer', token)}}}
    assert audit.analyse(data, 'docker', now=NOW)['problems'] == [
        {'code': 'token_expired', 'registry': 'de.icr.io', 'msg': 'The iambearer token for de.icr.io expired at '
         '2027-01-15T07:00:00Z; pulls with it fail. Run icr_login (or the role) again.'}]
    codes = [(p['code'], p['registry']) for p in audit.analyse(data, 'docker', True, now=NOW)['problems']]
    assert codes == [('plaintext_api_key', 'us.icr.io'), ('token_expired', 'de.icr.io')]

    data['credsStore'] = 'desktop'
    data['credHelpers'] = {'de.icr.io': 'icr'}
    seen = audit.analyse(data, 'docker', now=NOW)
    got = by_registry(seen)
    assert (got['us.icr.io']['method'], got['us.icr.io']['helper']) == ('store', 'desktop')
    assert got['de.icr.io']['method'] == 'helper' and seen['creds_store'] == 'desktop'
    assert [(p['code'], p['registry']) for p in seen['problems']] == [
        ('creds_store_captures', 'us.icr.io'), ('helper_shadows_file', 'de.icr.io'), ('token_expired', 'de.icr.io')]
    assert 'docker-credential-icr: the clients ignore the file' in seen['problems'][1]['msg']
    # The containers tools do not read credsStore: the file's credential is what they use.
    containers = audit.analyse(data, 'containers', now=NOW)
    assert by_registry(containers)['us.icr.io']['method'] == 'file' and containers['creds_store'] is None
    assert 'creds_store_captures' not in [p['code'] for p in containers['problems']]


def test_other_username_types_and_broken_entries():
    data = {'auths': {'us.icr.io': {'identitytoken': 'x' * 30}, 'de.icr.io': {'auth': encode_auth('bob', OTHER_KEY)},
                      'jp.icr.io': {'auth': '!!!not base64'}, 'au.icr.io': {'auth': encode_auth('iamrefresh', 'r' * 40)}}}
    seen = audit.analyse(data, 'containers', now=NOW)
    got = by_registry(seen)
    assert got['us.icr.io']['username_type'] == 'identitytoken' and got['de.icr.io']['username_type'] == 'other'
    assert got['au.icr.io']['username_type'] == 'iamrefresh' and got['au.icr.io']['expires_at'] is None
    assert got['jp.icr.io']['method'] == 'none' and got['jp.icr.io']['username_type'] is None
    assert [(p['code'], p['registry']) for p in seen['problems']] == [('unreadable_entry', 'jp.icr.io')]
    assert 'bob' not in json.dumps(seen) and OTHER_KEY not in json.dumps(seen)


def write(path, data, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    os.chmod(str(path), mode)
    return path


def test_audit_file_reports_modes_and_leaves_an_unparsable_file_as_it_is(tmp_path):
    os.chmod(str(tmp_path), 0o700)
    path = write(tmp_path / 'docker' / 'config.json', {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}}})
    os.chmod(str(path.parent), 0o700)
    view = audit.audit_file(str(path), 'docker', me(), False, now=NOW)
    assert view['exists'] and view['parsed'] and view['mode'] == '0600' and view['dir_mode'] == '0700'
    assert view['problems'] == [] and view['owner'] == me().pw_name
    os.chmod(str(path), 0o644)
    os.chmod(str(path.parent), 0o751)
    problems = audit.audit_file(str(path), 'docker', me(), False, now=NOW)['problems']
    assert [p['code'] for p in problems] == ['file_mode', 'dir_mode']
    assert 'can be read by its group and every user on the host (mode 0644); chmod 600 it' in problems[0]['msg']
    assert 'can be read by its group (mode 0751); chmod 700 it' in problems[1]['msg']
    # No secret in the file: its mode is no problem.
    write(path, {'credHelpers': {'us.icr.io': 'icr'}}, 0o644)
    assert audit.audit_file(str(path), 'docker', me(), False, now=NOW)['problems'] == []

    broken = b'{"auths": {"us.icr.io": {"auth": "' + API_KEY.encode() + b'"'
    path.write_bytes(broken)
    view = audit.audit_file(str(path), 'docker', me(), False, now=NOW)
    assert view['parsed'] is False and [p['code'] for p in view['problems']] == ['unparsable']
    assert 'not valid JSON' in view['problems'][0]['msg'] and API_KEY not in json.dumps(view)
    assert path.read_bytes() == broken and oct(os.stat(str(path)).st_mode & 0o777) == '0o644'


def test_a_missing_file_or_directory_is_no_problem(tmp_path):
    view = audit.audit_file(str(tmp_path / 'nothing' / 'config.json'), 'docker', me(), False)
    assert (view['exists'], view['readable'], view['problems'], view['registries']) == (False, True, [], [])


def test_the_owner_must_be_the_user(tmp_path):
    path = write(tmp_path / 'config.json', {'auths': {}})
    someone = pwd.struct_passwd(('someone', 'x', os.geteuid() + 4242, 4242, '', str(tmp_path), '/bin/sh'))
    problems = audit.audit_file(str(path), 'docker', someone, False)['problems']
    assert [p['code'] for p in problems] == ['owner_mismatch'] and 'chown it to someone' in problems[0]['msg']


@pytest.fixture
def scratch():
    made = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-audit-'))
    os.chmod(str(made), 0o755)
    yield made
    shutil.rmtree(str(made), ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason='acting as another user needs root')
def test_a_link_a_user_planted_does_not_make_root_read_another_users_file(scratch):
    nobody = pwd.getpwnam('nobody')
    victim = write(scratch / 'victim' / 'config.json', {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}}})
    os.chmod(str(victim.parent), 0o700)
    home = scratch / 'home'
    (home / '.docker').mkdir(parents=True)
    for p in (home, home / '.docker'):
        os.chown(str(p), nobody.pw_uid, nobody.pw_gid)
    planted = home / '.docker' / 'config.json'
    planted.symlink_to(victim)
    os.lchown(str(planted), nobody.pw_uid, nobody.pw_gid)
    user = pwd.struct_passwd((nobody.pw_name, 'x', nobody.pw_uid, nobody.pw_gid, '', str(home), '/bin/sh'))
    view = audit.audit_file(str(planted), 'docker', user, True)
    assert view['readable'] is False and [p['code'] for p in view['problems']] == ['unreadable']
    assert 'permission denied' in view['problems'][0]['msg'] and view['registries'] == []
    assert fingerprint(API_KEY) not in json.dumps(view)
    # Root auditing itself follows no link that another user controls either.
    own = audit.audit_file(str(planted), 'docker', me(), False)
    assert own['readable'] is False and fingerprint(API_KEY) not in json.dumps(own)
    # A file the user may read is reported (the link resolved as the user would).
    os.chmod(str(victim.parent), 0o755)
    os.chmod(str(victim), 0o644)
    shown = audit.audit_file(str(planted), 'docker', user, True)
    assert shown['path'] == str(victim) and shown['registries'][0]['fingerprint'] == fingerprint(API_KEY)
    assert [p['code'] for p in shown['problems']] == ['owner_mismatch', 'file_mode', 'dir_mode']


def test_a_fifo_or_a_device_in_place_of_the_file_is_reported_without_blocking(tmp_path):
    os.chmod(str(tmp_path), 0o700)
    fifo = tmp_path / 'config.json'
    os.mkfifo(str(fifo), 0o600)
    view = audit.audit_file(str(fifo), 'docker', me(), False)
    assert view['readable'] is False and 'not a regular file' in view['problems'][0]['msg']
    assert view['exists'] is False  # not a file: no owner or mode to report
    link = tmp_path / 'auth.json'
    link.symlink_to('/dev/zero')
    view = audit.audit_file(str(link), 'containers', me(), True)
    assert view['readable'] is False and 'not a regular file' in view['problems'][0]['msg']


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_a_trusted_profile_login_is_reported_as_such_with_the_profile_and_is_a_plaintext_api_key():
    data = {'auths': {'us.icr.io': {'auth': encode_auth(PROFILE, API_KEY)},
                      'de.icr.io': {'auth': encode_auth('Profile-not-a-uuid', API_KEY)}}}
    seen = audit.analyse(data, 'containers', now=NOW)
    got = by_registry(seen)
    entry = got['us.icr.io']
    assert (entry['username_type'], entry['iam_id'], entry['account_id'], entry['expires_at']) == (
        'trusted_profile', 'iam-' + PROFILE, None, None)
    assert entry['fingerprint'] == fingerprint(API_KEY) and seen['problems'] == []
    assert got['de.icr.io']['username_type'] == 'other' and got['de.icr.io']['iam_id'] is None
    strict = audit.analyse(data, 'containers', True, now=NOW)
    assert [(p['code'], p['registry']) for p in strict['problems']] == [('plaintext_api_key', 'us.icr.io')]
    assert '(username type trusted_profile)' in strict['problems'][0]['msg']
    assert API_KEY not in json.dumps(seen) + json.dumps(strict)


def test_a_problem_names_its_registry_only_when_it_has_one():
    assert audit.problem('c', 'm') == {'code': 'c', 'msg': 'm'}
    assert audit.problem('c', 'm', 'us.icr.io') == {'code': 'c', 'msg': 'm', 'registry': 'us.icr.io'}
    assert audit.problem('c', 'm', '') == {'code': 'c', 'msg': 'm', 'registry': ''}


@pytest.mark.parametrize('key, expected', [
    ('HTTPS://us.icr.io/', ('us.icr.io', None, False)),
    ('  us.icr.io  ', ('us.icr.io', None, False)),
    ('oci+a.b-c9://de.icr.io/v2/', ('de.icr.io', None, False)),
    ('https://https://us.icr.io', None),
    ('9s://us.icr.io', None),
    ('https:/us.icr.io', None),
    ('us.icr.io/', ('us.icr.io', None, False)),
    ('us.icr.io/v1', ('us.icr.io', None, False)),
    ('us.icr.io/v2', ('us.icr.io', None, False)),
    ('us.icr.io/v1/web', ('us.icr.io', 'v1/web', False)),
    ('us.icr.io//web/app//', ('us.icr.io', 'web/app', False)),
    ('us.icr.io/XnsX', ('us.icr.io', 'XnsX', False)),
    ('http://private.us.icr.io/ns/app', ('private.us.icr.io', 'ns/app', False)),
    ('REGISTRY.NG.BLUEMIX.NET/v1/', ('registry.ng.bluemix.net', None, True)),
    ('https://registry.bluemix.net/ns', ('registry.bluemix.net', 'ns', True)),
    ('private.registry.bluemix.net', None),
    (None, None), (b'us.icr.io', None),
])
def test_icr_scope_strips_one_scheme_and_the_api_path_and_keeps_a_namespace(key, expected):
    assert audit.icr_scope(key) == expected


def described(kind, secret, iam_id=None, account_id=None, expires_at=None, expired=None):
    return {'username_type': kind, 'fingerprint': fingerprint(secret), 'iam_id': iam_id, 'account_id': account_id,
            'expires_at': expires_at, 'expired': expired}


def test_describe_secret_reads_a_tokens_claims_but_never_an_api_keys():
    token = iam_token(iam_id='iam-ServiceId-abc', account='acc1', now=NOW)
    assert audit.describe_secret('iambearer', token, NOW) == described(
        'iambearer', token, 'iam-ServiceId-abc', 'acc1', '2027-01-15T09:00:00Z', False)
    # Expired from the second of its exp on.
    assert audit.describe_secret('iambearer', token, NOW + 3600) == described(
        'iambearer', token, 'iam-ServiceId-abc', 'acc1', '2027-01-15T09:00:00Z', True)
    assert audit.describe_secret('iambearer', token, NOW + 3599)['expired'] is False
    assert audit.describe_secret('<identitytoken>', token, NOW) == described(
        'identitytoken', token, 'iam-ServiceId-abc', 'acc1', '2027-01-15T09:00:00Z', False)
    assert audit.describe_secret('bob', token, NOW) == described(
        'other', token, 'iam-ServiceId-abc', 'acc1', '2027-01-15T09:00:00Z', False)
    # A token without exp names its identity, and no expiry.
    endless = iam_token(iam_id='iam-ServiceId-abc', account='acc1', now=NOW, exp=None)
    expected = described('iamrefresh', endless, 'iam-ServiceId-abc', 'acc1')
    assert audit.describe_secret('iamrefresh', endless, NOW) == expected
    # The password of an API key type is never read as a token, even when it looks like one.
    assert audit.describe_secret('iamapikey', token, NOW) == described('iamapikey', token)
    assert audit.describe_secret(PROFILE, token, NOW) == described('trusted_profile', token, 'iam-' + PROFILE)
    assert audit.describe_secret('iambearer', 'not-a-jwt', NOW) == described('iambearer', 'not-a-jwt')


def test_every_field_of_an_entry_and_the_entries_sorted_by_key():
    token = iam_token(iam_id='iam-ServiceId-abc', account='acc1', now=NOW)
    data = {'auths': {'registry.ng.bluemix.net': {'auth': encode_auth('iambearer', token)},
                      'private.de.icr.io/web': {'auth': encode_auth('iamapikey', API_KEY)},
                      'https://icr.io/v1/': {}},
            'credHelpers': {'https://icr.io/v1/': 'icr', 'au.icr.io': 'pass'}}
    base = {'namespace': None, 'private': False, 'former_name': False, 'method': 'none', 'helper': None,
            'username_type': None, 'fingerprint': None, 'iam_id': None, 'account_id': None, 'expires_at': None,
            'expired': None}
    assert audit.analyse(data, 'containers', now=NOW) == {'registries': [
        dict(base, registry='au.icr.io', host='au.icr.io', region='au-syd', method='helper', helper='pass'),
        dict(base, registry='https://icr.io/v1/', host='icr.io', region='global', method='helper', helper='icr'),
        dict(base, registry='private.de.icr.io/web', host='private.de.icr.io', namespace='web', region='eu-de',
             private=True, method='file', username_type='iamapikey', fingerprint=fingerprint(API_KEY)),
        dict(base, registry='registry.ng.bluemix.net', host='registry.ng.bluemix.net', region='us-south',
             former_name=True, method='file', username_type='iambearer', fingerprint=fingerprint(token),
             iam_id='iam-ServiceId-abc', account_id='acc1', expires_at='2027-01-15T09:00:00Z', expired=False),
    ], 'other_registries': 0, 'creds_store': None, 'problems': []}


def test_every_problem_of_analyse_is_worded_exactly():
    token = iam_token(now=NOW - 7200)
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
                      'de.icr.io': {'auth': encode_auth('iambearer', token)},
                      'jp.icr.io': {'auth': '!!!not base64'},
                      'uk.icr.io': {'auth': encode_auth(PROFILE, API_KEY)}},
            'credHelpers': {'de.icr.io': 'pass'}}
    assert audit.analyse(data, 'docker', True, NOW)['problems'] == [
        {'code': 'plaintext_api_key', 'registry': 'us.icr.io', 'msg': 'The file holds an IBM Cloud API key in plain '
         'text for us.icr.io (username type iamapikey), and policy wants none (forbid_api_keys). Write a short-lived '
         'token instead (icr_login with username_type iambearer) or use the credential helper docker-credential-icr.'},
        {'code': 'helper_shadows_file', 'registry': 'de.icr.io', 'msg': 'The file holds a credential for de.icr.io, '
         'but credHelpers sends de.icr.io to docker-credential-pass: the clients ignore the file\'s credential, which '
         'only lies there. Remove it from "auths" (leave an empty entry), or remove the credHelpers entry.'},
        {'code': 'token_expired', 'registry': 'de.icr.io', 'msg': 'The iambearer token for de.icr.io expired at '
         '2027-01-15T07:00:00Z; pulls with it fail. Run icr_login (or the role) again.'},
        {'code': 'unreadable_entry', 'registry': 'jp.icr.io', 'msg': 'The auths entry of jp.icr.io has an "auth" field '
         'that is not base64 of "username:secret"; no client can use it. Log in again (icr_login).'},
        {'code': 'plaintext_api_key', 'registry': 'uk.icr.io', 'msg': 'The file holds an IBM Cloud API key in plain '
         'text for uk.icr.io (username type trusted_profile), and policy wants none (forbid_api_keys). Write a '
         'short-lived token instead (icr_login with username_type iambearer) or use the credential helper '
         'docker-credential-icr.'},
    ]


def test_a_store_capturing_a_host_and_a_helper_beside_a_store_are_worded_exactly():
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
                      'de.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}},
            'credsStore': 'desktop', 'credHelpers': {'de.icr.io': 'icr'}}
    assert audit.analyse(data, 'docker', now=NOW)['problems'] == [
        {'code': 'creds_store_captures', 'registry': 'us.icr.io', 'msg': 'The file holds a credential for us.icr.io, '
         'but it names the credential store "desktop" (credsStore): Docker asks that store and ignores the file\'s '
         'credential (skopeo and podman do use it). Remove "credsStore", or give the host a credHelpers entry.'},
        {'code': 'helper_shadows_file', 'registry': 'de.icr.io', 'msg': 'The file holds a credential for de.icr.io, '
         'but credHelpers sends de.icr.io to docker-credential-icr: the clients ignore the file\'s credential, which '
         'only lies there. Remove it from "auths" (leave an empty entry), or remove the credHelpers entry.'},
    ]


def test_analyse_edges_empty_sections_helpers_that_name_nothing_and_entries_without_a_credential():
    assert audit.analyse({'auths': None, 'credHelpers': None, 'credsStore': ''}, 'docker', now=NOW) == {
        'registries': [], 'other_registries': 0, 'creds_store': None, 'problems': []}
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}, 'de.icr.io': 'not an object',
                      'jp.icr.io': {'auth': ''}, 'uk.icr.io': {'auth': '!!!not base64'},
                      'au.icr.io': {'auth': '!!!not base64'}, 'docker.io': {}, 'quay.io': {}},
            'credHelpers': {'us.icr.io': '', 'de.icr.io': 5, 'uk.icr.io': 'pass', 'docker.io': 'x', 'gcr.io': 'y'}}
    seen = audit.analyse(data, 'containers', now=NOW)
    got = by_registry(seen)
    assert [(k, got[k]['method'], got[k]['helper']) for k in sorted(got)] == [
        ('au.icr.io', 'none', None), ('de.icr.io', 'none', None), ('jp.icr.io', 'none', None),
        ('uk.icr.io', 'helper', 'pass'), ('us.icr.io', 'file', None)]
    # docker.io counts once although both sections name it.
    assert seen['other_registries'] == 3
    # Only the broken auth no helper or store covers is a problem: a helper or a store answers for the others.
    assert [(p['code'], p['registry']) for p in seen['problems']] == [('unreadable_entry', 'au.icr.io')]
    data['credsStore'] = 'desktop'
    stored = audit.analyse(data, 'docker', now=NOW)
    assert [(p['code'], p['registry']) for p in stored['problems']] == [('creds_store_captures', 'us.icr.io')]
    assert by_registry(stored)['au.icr.io']['method'] == 'store'
    # Without forbid_api_keys, an API key is no problem.
    assert audit.analyse(data, 'containers', now=NOW)['problems'] == seen['problems']


def test_analyse_takes_the_clock_when_it_is_given_none():
    old = iam_token(now=time.time() - 7200)
    fresh = iam_token(now=time.time())
    seen = audit.analyse({'auths': {'us.icr.io': {'auth': encode_auth('iambearer', old)},
                                    'de.icr.io': {'auth': encode_auth('iambearer', fresh)}}}, 'docker')
    assert [(e['registry'], e['expired']) for e in seen['registries']] == [('de.icr.io', False), ('us.icr.io', True)]
    assert [p['code'] for p in seen['problems']] == ['token_expired']


def test_holds_secret_looks_at_every_auths_entry():
    assert audit.holds_secret({}) is False
    assert audit.holds_secret({'auths': None, 'credHelpers': {'us.icr.io': 'icr'}}) is False
    assert audit.holds_secret({'auths': {'us.icr.io': {}, 'de.icr.io': {'auth': ''}}}) is False
    assert audit.holds_secret({'auths': {'us.icr.io': {}, 'docker.io': {'auth': encode_auth('me', 'pw')}}}) is True
    assert audit.holds_secret({'auths': {'quay.io': {'identitytoken': 'x' * 30}}}) is True


class Mode:
    def __init__(self, mode):
        self.st_mode = mode


@pytest.mark.parametrize('file_mode, dir_mode, expected', [
    (0o100600, 0o40700, []),
    (0o100711, 0o40711, []),
    (0o100600, None, []),
    (0o100640, 0o40700, ['The file /h/.docker/config.json, which holds registry secrets, can be read by its group '
                         '(mode 0640); chmod 600 it.']),
    (0o100604, 0o40750, ['The file /h/.docker/config.json, which holds registry secrets, can be read by every user on '
                         'the host (mode 0604); chmod 600 it.',
                         'The directory /h/.docker, which holds the registry secrets of config.json, can be read by '
                         'its group (mode 0750); chmod 700 it.']),
    (0o100620, 0o40702, ['The file /h/.docker/config.json, which holds registry secrets, can be changed by its group '
                         '(mode 0620); chmod 600 it.',
                         'The directory /h/.docker, which holds the registry secrets of config.json, can be changed by '
                         'every user on the host (mode 0702); chmod 700 it.']),
    (0o100642, 0o41777, ['The file /h/.docker/config.json, which holds registry secrets, can be read by its group and '
                         'changed by every user on the host (mode 0642); chmod 600 it.',
                         'The directory /h/.docker, which holds the registry secrets of config.json, can be read by '
                         'its group and every user on the host and changed by its group and every user on the host '
                         '(mode 1777); chmod 700 it.']),
    (0o100603, 0o40731, ['The file /h/.docker/config.json, which holds registry secrets, can be changed by every user '
                         'on the host (mode 0603); chmod 600 it.',
                         'The directory /h/.docker, which holds the registry secrets of config.json, can be changed by '
                         'its group (mode 0731); chmod 700 it.']),
    (0o100700, 0o40720, ['The directory /h/.docker, which holds the registry secrets of config.json, can be changed '
                         'by its group (mode 0720); chmod 700 it.']),
])
def test_mode_problems_say_who_can_read_or_change_what_and_how_to_fix_it(file_mode, dir_mode, expected):
    found = audit._mode_problems('/h/.docker/config.json', Mode(file_mode),
                                 None if dir_mode is None else Mode(dir_mode))
    assert found == [{'code': 'file_mode' if msg.startswith('The file ') else 'dir_mode', 'msg': msg}
                     for msg in expected]


def open_fds():
    return sorted(os.listdir('/proc/self/fd'))


def private_file(tmp_path, data, mode=0o600):
    os.chmod(str(tmp_path), 0o700)
    path = write(tmp_path / 'docker' / 'config.json', data, mode)
    os.chmod(str(path.parent), 0o700)
    return path


def test_audit_file_gives_the_whole_view_of_a_file_and_closes_what_it_opened(tmp_path):
    path = private_file(tmp_path, {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)},
                                             'docker.io': {}}, 'credsStore': 'desktop'})
    before = open_fds()
    view = audit.audit_file(str(path), 'docker', me(), False, now=NOW)
    assert open_fds() == before
    assert view == {
        'user': me().pw_name, 'path': str(path), 'format': 'docker', 'exists': True, 'readable': True, 'parsed': True,
        'owner': me().pw_name, 'mode': '0600', 'dir_mode': '0700', 'creds_store': 'desktop',
        'registries': audit.analyse(json.loads(path.read_text()), 'docker', now=NOW)['registries'],
        'other_registries': 1, 'problems': [audit.problem('creds_store_captures', view['problems'][0]['msg'],
                                                          'us.icr.io')]}
    assert view['registries'][0]['method'] == 'store' and view['registries'][0]['fingerprint'] == fingerprint(API_KEY)
    # forbid_api_keys reaches analyse; and the format decides whether credsStore counts.
    strict = audit.audit_file(str(path), 'containers', me(), False, True, NOW)
    assert (strict['format'], strict['creds_store']) == ('containers', None)
    assert [p['code'] for p in strict['problems']] == ['plaintext_api_key']


def test_audit_file_passes_its_clock_on(tmp_path):
    path = private_file(tmp_path, {'auths': {'us.icr.io': {'auth': encode_auth('iambearer', iam_token(now=NOW))}}})
    assert audit.audit_file(str(path), 'docker', me(), False, now=NOW)['problems'] == []
    assert [p['code'] for p in audit.audit_file(str(path), 'docker', me(), False, now=NOW + 3600)['problems']] == [
        'token_expired']


def empty_view(path, **changes):
    view = {'user': me().pw_name, 'path': path, 'format': 'docker', 'exists': False, 'readable': True, 'parsed': None,
            'owner': None, 'mode': None, 'dir_mode': None, 'creds_store': None, 'registries': [], 'other_registries': 0,
            'problems': []}
    view.update(changes)
    return view


def test_a_missing_file_a_missing_directory_or_a_file_in_place_of_a_directory_is_no_file(tmp_path):
    os.chmod(str(tmp_path), 0o700)
    for path in (tmp_path / 'config.json', tmp_path / 'none' / 'config.json'):
        assert audit.audit_file(str(path), 'docker', me(), False) == empty_view(str(path))
    write(tmp_path / 'plain', 'x')
    before = open_fds()
    path = str(tmp_path / 'plain' / 'config.json')
    assert audit.audit_file(path, 'docker', me(), False) == empty_view(path)
    assert open_fds() == before


def test_an_unparsable_file_gives_its_owner_modes_and_the_parse_error(tmp_path):
    path = private_file(tmp_path, '{"auths": ')
    view = audit.audit_file(str(path), 'docker', me(), False)
    assert view == empty_view(str(path), exists=True, parsed=False, owner=me().pw_name, mode='0600', dir_mode='0700',
                              problems=[{'code': 'unparsable', 'msg': view['problems'][0]['msg']}])
    assert view['problems'][0]['msg'].startswith(str(path) + ' is not valid JSON')


@pytest.mark.parametrize('number, message', [
    (2, 'Cannot read {}: permission denied.'.format), (1, 'Cannot read {}: permission denied.'.format),
    (5, 'Cannot read {}: Input/output error.'.format),
])
def test_a_directory_that_cannot_be_opened_is_unreadable(tmp_path, monkeypatch, number, message):
    import errno
    number = {2: errno.EACCES, 1: errno.EPERM, 5: errno.EIO}[number]

    def refuse(directory, attributes, protected=False):
        raise OSError(number, os.strerror(number))
    monkeypatch.setattr(audit, 'open_dir', refuse)
    path = str(private_file(tmp_path, {}))
    assert audit.audit_file(path, 'docker', me(), False) == empty_view(
        path, readable=False, problems=[{'code': 'unreadable', 'msg': message(path)}])


def test_a_path_that_cannot_be_resolved_is_unreadable(tmp_path, monkeypatch):
    import errno

    def broken(path, account, owner):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
    monkeypatch.setattr(audit, 'locate', broken)
    path = str(tmp_path / 'config.json')
    assert audit.audit_file(path, 'docker', me(), False) == empty_view(
        path, readable=False, problems=[{'code': 'unreadable', 'msg': f'Cannot resolve {path}: '
                                         'Too many levels of symbolic links.'}])


def test_a_file_too_large_to_read_still_shows_its_owner_and_modes(tmp_path):
    from ansible_collections.icr.auth.plugins.module_utils._auth_file import MAX_FILE_SIZE
    path = private_file(tmp_path, '')
    os.truncate(str(path), MAX_FILE_SIZE + 1)
    before = open_fds()
    view = audit.audit_file(str(path), 'docker', me(), False)
    assert open_fds() == before
    message = (f'{path} is {MAX_FILE_SIZE + 1} bytes, larger than the {MAX_FILE_SIZE} bytes a registry auth file can '
               'sensibly be; it was left unchanged.')
    assert view == empty_view(str(path), exists=True, readable=False, owner=me().pw_name, mode='0600',
                              dir_mode='0700', problems=[{'code': 'unreadable', 'msg': message}])


def test_a_link_met_where_the_file_was_is_described_as_no_file(tmp_path, monkeypatch):
    """A link that appears once the path was resolved is refused, and its target's owner and mode are not shown."""
    target = private_file(tmp_path, {})
    link = tmp_path / 'docker' / 'auth.json'
    link.symlink_to(target)
    monkeypatch.setattr(audit, 'locate', lambda path, account, owner: (account, path, False))
    view = audit.audit_file(str(link), 'docker', me(), False)
    assert (view['readable'], view['exists'], view['owner'], view['mode']) == (False, False, None, None)
    assert view['problems'][0]['msg'].startswith(f'{link} turned into a symbolic link')


@pytest.mark.skipif(os.geteuid() != 0, reason='files of other owners need root')
def test_an_owner_without_a_name_is_shown_by_uid_and_must_be_the_user(tmp_path):
    uid = 4242
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            break
        uid += 1
    path = private_file(tmp_path, {})
    os.chown(str(path), uid, 0)
    view = audit.audit_file(str(path), 'docker', me(), False)
    assert view['owner'] == str(uid)
    assert view['problems'] == [{'code': 'owner_mismatch', 'msg': f'{path} belongs to {uid}, not to {me().pw_name} '
                                 f'whose credentials it holds; chown it to {me().pw_name}.'}]


@pytest.mark.skipif(os.geteuid() != 0, reason='acting as another user needs root')
def test_root_reads_as_the_user_only_when_the_user_was_named(scratch):
    nobody = pwd.getpwnam('nobody')
    path = write(scratch / 'private' / 'config.json', {'auths': {}})
    os.chmod(str(path.parent), 0o700)
    user = pwd.struct_passwd((nobody.pw_name, 'x', nobody.pw_uid, nobody.pw_gid, '', str(scratch), '/bin/sh'))
    unnamed = audit.audit_file(str(path), 'docker', user, False)
    assert (unnamed['readable'], unnamed['parsed'], unnamed['owner']) == (True, True, 'root')
    assert [p['code'] for p in unnamed['problems']] == ['owner_mismatch']
    named = audit.audit_file(str(path), 'docker', user, True)
    assert (named['readable'], named['exists']) == (False, False)
    assert named['problems'] == [{'code': 'unreadable', 'msg': f'Cannot read {path}: permission denied. Run as its '
                                  'owner (become) or fix its permissions.'}]
    # A directory on the way the user cannot search.
    deeper = write(scratch / 'private' / 'sub' / 'config.json', {'auths': {}})
    assert audit.audit_file(str(deeper), 'docker', user, True)['problems'] == [
        {'code': 'unreadable', 'msg': f'Cannot read {deeper}: permission denied.'}]
    assert audit.audit_file(str(deeper), 'docker', user, False)['readable'] is True
    assert os.geteuid() == 0 and os.getegid() == 0


def test_a_resolved_path_is_walked_without_following_a_link_that_appeared_on_the_way(tmp_path, monkeypatch):
    """Root resolved the path (locate); a directory on it turned into a link afterwards: it is not followed."""
    real = private_file(tmp_path, {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', API_KEY)}}})
    link = tmp_path / 'moved'
    link.symlink_to(real.parent)
    path = str(link / 'config.json')
    monkeypatch.setattr(audit, 'locate', lambda path, account, owner: (None, path, True))
    view = audit.audit_file(path, 'docker', me(), False)
    message = (f'{link} changed while it was being written (a symbolic link appeared on the way); nothing was written '
               'there. Run again.')
    assert view == empty_view(path, readable=False, problems=[{'code': 'unreadable', 'msg': message}])
    # Unprotected (a user acting with its own rights), the kernel guards the walk and the link is followed.
    monkeypatch.setattr(audit, 'locate', lambda path, account, owner: (None, path, False))
    assert audit.audit_file(path, 'docker', me(), False)['registries'][0]['fingerprint'] == fingerprint(API_KEY)
