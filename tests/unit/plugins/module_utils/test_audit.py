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
