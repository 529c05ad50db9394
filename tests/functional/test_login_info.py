# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_login_info and playbooks/fleet_audit.yml in real ansible-playbook runs.

icr_login writes credentials made by the emulator (an API key, an IAM token), then icr_login_info reports them: the
token's identity is the emulator's iam_id for the key, the fingerprints are those of the secrets written, nothing
changes (check mode too), no secret shows at -vvvv. As root: another user's 0644 file, a file of the wrong owner, a
link a user planted to another user's file, and the fleet audit playbook over two inventory hosts and two local users
(named icraud*, made and removed here).
"""

from __future__ import annotations

import base64
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

from emu_fixture import emu, emu_host, module_emu  # noqa: F401  pylint: disable=unused-import
from playrunner import BIN, HERE, collections_path, run_play
from rel_support import temporary_users
from secret_scan import assert_no_secret

# pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint, iso8601, jwt_claims  # noqa: E402

NETWORK_CODE = ('_http.py', '_iam.py', '_registry.py', '_challenge.py', '_network.py')


def credential_task(emu):
    return {'name': 'credential', 'icr.auth.icr_credential': {
        'api_key': '{{ key }}', 'iam_endpoint': emu.url, 'username_type': 'iambearer', 'retries': 1, 'timeout': 5},
        'register': 'icr', 'no_log': True}


def login_tasks(**where):
    return [
        {'name': 'key', 'icr.auth.icr_login': dict(where, registries=['us.icr.io'], password='{{ key }}')},
        {'name': 'token', 'icr.auth.icr_login': dict(where, registries=['de.icr.io'], username_type='iambearer',
                                                     password='{{ icr.password }}', format='both')},
    ]


def stored(path, host):
    """(username, secret, raw auth field) of a host's entry in a file."""
    auth = json.loads(pathlib.Path(path).read_text())['auths'][host]['auth']
    username, secret = base64.b64decode(auth).decode().split(':', 1)
    return username, secret, auth


def by_registry(result, fmt):
    files = [f for f in result['files'] if f['format'] == fmt]
    assert len(files) == 1, result['files']
    return dict((e['registry'], e) for e in files[0]['registries'])


@pytest.fixture
def own_files(tmp_path):
    """The connection user's files at the paths its environment names (DOCKER_CONFIG, REGISTRY_AUTH_FILE)."""
    docker = tmp_path / 'home' / 'docker' / 'config.json'
    containers = tmp_path / 'home' / 'containers' / 'auth.json'
    env = {'DOCKER_CONFIG': str(docker.parent), 'REGISTRY_AUTH_FILE': str(containers)}
    return docker, containers, env


def test_what_icr_login_wrote_is_reported_with_identity_and_fingerprint_and_nothing_changes(emu, tmp_path, own_files):
    docker, containers, env = own_files
    key = emu.apikey('svc-reader')
    info = {'icr.auth.icr_login_info': {'forbid_api_keys': True}}
    tasks = [credential_task(emu)] + login_tasks() + [
        dict(info, name='info', register='info'),
        dict(info, name='info in check mode', check_mode=True),
    ]
    run = run_play(tmp_path / 'play', tasks, secret_vars={'key': key}, env=env, args=['-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    result = run.result('info')['result']
    assert result['changed'] is False and result['users'] == [run.result('info')['result']['users'][0]]
    _user, token, token_auth = stored(docker, 'de.icr.io')
    assert stored(containers, 'de.icr.io')[1] == token
    _user, stored_key, key_auth = stored(docker, 'us.icr.io')
    assert stored_key == key

    docker_entries = by_registry(result, 'docker')
    assert sorted(docker_entries) == ['de.icr.io', 'us.icr.io']
    api = docker_entries['us.icr.io']
    assert (api['method'], api['username_type'], api['fingerprint'], api['iam_id']) == (
        'file', 'iamapikey', fingerprint(key), None)
    expected_id = emu.directory.key_by_name('svc-reader').iam_id
    for fmt in ('docker', 'containers'):
        bearer = by_registry(result, fmt)['de.icr.io']
        assert (bearer['method'], bearer['username_type'], bearer['iam_id']) == ('file', 'iambearer', expected_id)
        assert bearer['fingerprint'] == fingerprint(token) and bearer['expired'] is False
        assert bearer['expires_at'] == iso8601(jwt_claims(token)['exp']) and bearer['region'] == 'eu-de'
    assert [(p['code'], p.get('registry')) for p in result['problems']] == [('plaintext_api_key', 'us.icr.io')]

    checked = run.result('info in check mode')['result']
    assert checked['files'] == result['files'] and checked['changed'] is False
    assert_no_secret([key, token, key_auth, token_auth], run.stdout, run.stderr, run.records)


def test_an_unparsable_file_is_reported_and_left_byte_for_byte(tmp_path, own_files):
    docker, containers, env = own_files
    docker.parent.mkdir(parents=True, mode=0o700)
    broken = b'{"auths": {"us.icr.io": {"auth": "aWFtYXBpa2V5OmFiYw=="}},, \xff'
    docker.write_bytes(broken)
    os.chmod(str(docker), 0o600)
    before = os.stat(str(docker))
    tasks = [{'name': 'info', 'icr.auth.icr_login_info': {'format': 'docker'}, 'register': 'info'}]
    for check_mode in (False, True):
        run = run_play(tmp_path / ('play-%s' % check_mode), tasks, env=env, args=['--check'] if check_mode else [])
        assert run.rc == 0, run.text[-3000:]
        result = run.result('info')['result']
        assert result['files'][0]['parsed'] is False and [p['code'] for p in result['problems']] == ['unparsable']
        assert 'left unchanged' in result['problems'][0]['msg']
    after = os.stat(str(docker))
    assert docker.read_bytes() == broken and (after.st_mtime_ns, after.st_mode, after.st_ino) == (
        before.st_mtime_ns, before.st_mode, before.st_ino)
    assert not containers.exists()


def test_the_fingerprint_of_a_vaulted_key_on_the_controller_is_the_one_the_host_reports(emu, tmp_path, own_files):
    key = emu.apikey('svc-reader')
    password_file = tmp_path / 'vault-pass'
    password_file.write_text('audit-vault-password\n')
    os.chmod(str(password_file), 0o600)
    encrypted = subprocess.run([str(BIN / 'ansible-vault'), 'encrypt_string', '--vault-password-file', str(password_file),
                                '--stdin-name', 'vault_key'], input=key, capture_output=True, text=True, check=True)
    vaulted = tmp_path / 'vault-vars.yml'
    vaulted.write_text(encrypted.stdout)
    tasks = login_tasks()[:1] + [
        {'name': 'info', 'icr.auth.icr_login_info': {'format': 'docker'}, 'register': 'info'},
        {'name': 'compare', 'ansible.builtin.assert': {'that': [
            "info.files[0].registries[0].fingerprint == vault_key | icr.auth.credential_fingerprint"]}},
        {'name': 'show', 'ansible.builtin.debug': {'msg': '{{ vault_key | icr.auth.credential_fingerprint }}'}},
    ]
    run = run_play(tmp_path / 'play', [dict(t, vars={'key': '{{ vault_key }}'}) for t in tasks], env=own_files[2],
                   args=['-e', '@' + str(vaulted), '--vault-password-file', str(password_file), '-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    assert run.result('show')['result']['msg'] == fingerprint(key) == stored_fingerprint(own_files[0], 'us.icr.io')
    assert_no_secret([key], run.stdout, run.stderr, run.records)


def stored_fingerprint(path, host):
    return fingerprint(stored(path, host)[1])


def kept_payload(remote_tmp):
    """{name: text} of the collection's files in the one kept AnsiballZ payload (as test_payload.py reads them)."""
    found = sorted(remote_tmp.glob('ansible-tmp-*/AnsiballZ_*.py'))
    assert [p.name for p in found] == ['AnsiballZ_icr_login_info.py'], found
    text = found[0].read_text(encoding='utf-8', errors='replace')
    encoded = max(re.findall(r'[A-Za-z0-9+/]{1000,}={0,2}', text), key=len)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        return dict((n, archive.read(n).decode('utf-8', 'replace')) for n in archive.namelist()
                    if n.startswith('ansible_collections/icr/'))


def test_the_payload_carries_no_network_code_and_no_requests(tmp_path, own_files):
    remote = tmp_path / 'remote-tmp'
    env = dict(own_files[2], ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=str(remote), ANSIBLE_PIPELINING='false')
    run = run_play(tmp_path / 'play', [{'name': 'info', 'icr.auth.icr_login_info': {}}], env=env)
    assert run.rc == 0, run.text[-3000:]
    files = kept_payload(remote)
    utils = 'ansible_collections/icr/auth/plugins/module_utils/'
    assert utils + '_audit.py' in files and utils + '_privilege.py' in files and utils + '_atomic_file.py' in files
    names = set(n.rsplit('/', 1)[-1] for n in files)
    assert not names & set(NETWORK_CODE + ('_audit_report.py', '_login.py')), sorted(names)
    importing = [n for n, text in files.items() if re.search(r'^\s*(import|from)\s+requests\b', text, re.M)]
    assert importing == [], importing


# ------------------------------------------------------------------------------------------------ as root

@pytest.fixture
def two_users():
    """Two local users icraud<pid>a and icraud<pid>b."""
    with temporary_users('icraud') as made:
        yield made


@pytest.mark.needs_root
def test_modes_owners_and_a_planted_link_are_reported_as_root(emu, tmp_path, two_users):
    alice, bob = two_users
    key = emu.apikey('svc-reader')
    tasks = [credential_task(emu)] + login_tasks(user=alice.pw_name)
    run = run_play(tmp_path / 'write', tasks, secret_vars={'key': key})
    assert run.rc == 0, run.text[-3000:]
    alice_docker = pathlib.Path(alice.pw_dir) / '.docker' / 'config.json'
    os.chmod(str(alice_docker), 0o644)
    alice_containers = pathlib.Path(alice.pw_dir) / '.config' / 'containers' / 'auth.json'
    os.chown(str(alice_containers), bob.pw_uid, bob.pw_gid)
    # Bob plants a link to alice's file: root must not read it for him.
    (pathlib.Path(bob.pw_dir) / '.docker').mkdir(mode=0o700)
    os.chown(str(pathlib.Path(bob.pw_dir) / '.docker'), bob.pw_uid, bob.pw_gid)
    os.chmod(str(alice_docker), 0o600)
    os.chmod(str(alice_docker.parent), 0o700)
    planted = pathlib.Path(bob.pw_dir) / '.docker' / 'config.json'
    planted.symlink_to(alice_docker)
    os.lchown(str(planted), bob.pw_uid, bob.pw_gid)
    os.chmod(str(alice_docker), 0o644)  # readable by the group and others, but alice's home is 0700: not for bob
    before = dict((p, p.read_bytes()) for p in (alice_docker, alice_containers))

    tasks = [{'name': 'info', 'icr.auth.icr_login_info': {'users': [alice.pw_name, bob.pw_name]}, 'register': 'info'}]
    run = run_play(tmp_path / 'read', tasks, args=['-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    result = run.result('info')['result']
    assert result['users'] == [alice.pw_name, bob.pw_name]
    problems = dict(((p['user'], p['code']), p) for p in result['problems'])
    assert len(problems) == len(result['problems'])
    assert sorted(problems) == sorted([(alice.pw_name, 'file_mode'), (alice.pw_name, 'owner_mismatch'),
                                       (alice.pw_name, 'unreadable'), (bob.pw_name, 'unreadable')])
    assert problems[(alice.pw_name, 'file_mode')]['path'] == str(alice_docker)
    assert 'mode 0644' in problems[(alice.pw_name, 'file_mode')]['msg']
    # A file alice cannot read (bob's now, 0600) is reported with its owner.
    assert problems[(alice.pw_name, 'owner_mismatch')]['path'] == str(alice_containers)
    assert problems[(alice.pw_name, 'unreadable')]['path'] == str(alice_containers)
    assert 'belongs to %s, not to %s' % (bob.pw_name, alice.pw_name) in problems[(alice.pw_name, 'owner_mismatch')]['msg']
    assert 'permission denied' in problems[(bob.pw_name, 'unreadable')]['msg']
    bob_files = [f for f in result['files'] if f['user'] == bob.pw_name]
    assert all(f['registries'] == [] for f in bob_files)
    _u, key_on_file, auth = stored(alice_docker, 'us.icr.io')
    assert key_on_file == key and fingerprint(key) not in json.dumps(bob_files)
    alice_entries = by_registry({'files': [f for f in result['files'] if f['user'] == alice.pw_name]}, 'docker')
    assert alice_entries['us.icr.io']['fingerprint'] == fingerprint(key)
    assert dict((p, p.read_bytes()) for p in before) == before
    assert_no_secret([key, auth, stored(alice_docker, 'de.icr.io')[1]], run.stdout, run.stderr, run.records)


def run_playbook(tmp_path, playbook, inventory, extra_vars, secret_vars, args=(), cwd=None):
    """ansible-playbook of a playbook of the collection by its name, with the extra vars from files (secrets in a 0600
    one), in the directory cwd."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    plain = tmp_path / 'vars.json'
    plain.write_text(json.dumps(extra_vars))
    secret = tmp_path / 'secret.json'
    secret.write_text(json.dumps(secret_vars))
    os.chmod(str(secret), 0o600)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'),
               ANSIBLE_CALLBACK_PLUGINS=str(HERE / 'callback_plugins'), ANSIBLE_CALLBACKS_ENABLED='result_file',
               ICR_TEST_RESULT_FILE=str(tmp_path / 'results.jsonl'), ANSIBLE_LOCALHOST_WARNING='false')
    cmd = [str(BIN / 'ansible-playbook'), playbook, '-i', str(inventory),
           '-e', '@' + str(secret), '-e', '@' + str(plain), '-vvvv'] + list(args)
    env['PWD'] = str(cwd or tmp_path)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=str(cwd or tmp_path))


@pytest.mark.needs_root
def test_the_fleet_audit_playbook_writes_the_markdown_and_json_reports(emu, tmp_path, two_users):
    alice, bob = two_users
    key = emu.apikey('svc-reader')
    old_key = emu.apikey('svc-writer')
    # alice holds the key, bob a token of the same service ID; bob's file is then opened to everyone.
    run = run_play(tmp_path / 'write', [credential_task(emu),
                                        {'name': 'key', 'icr.auth.icr_login': {
                                            'registries': ['us.icr.io'], 'password': '{{ key }}', 'user': alice.pw_name}},
                                        {'name': 'token', 'icr.auth.icr_login': {
                                            'registries': ['us.icr.io'], 'username_type': 'iambearer',
                                            'password': '{{ icr.password }}', 'user': bob.pw_name}}],
                   secret_vars={'key': key})
    assert run.rc == 0, run.text[-3000:]
    bob_docker = pathlib.Path(bob.pw_dir) / '.docker' / 'config.json'
    os.chmod(str(bob_docker), 0o644)
    bob_before = bob_docker.read_text()
    _u, token, token_auth = stored(bob_docker, 'us.icr.io')

    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[fleet]\naudit-a ansible_connection=local fleet_audit_users=\'["%s"]\'\n'
                         'audit-b ansible_connection=local fleet_audit_users=\'["%s"]\'\n' % (alice.pw_name, bob.pw_name))
    reports = tmp_path / 'reports'
    reports.mkdir()
    extra = {'fleet_audit_hosts': 'fleet', 'fleet_audit_report_dir': str(reports),
             'fleet_audit_known_keys': [
                 {'name': 'svc-reader-key', 'fingerprint': '{{ new_key | icr.auth.credential_fingerprint }}',
                  'iam_id': emu.directory.key_by_name('svc-reader').iam_id},
                 {'name': 'old-key', 'fingerprint': '{{ old_key | icr.auth.credential_fingerprint }}'}]}
    done = run_playbook(tmp_path / 'audit', 'icr.auth.fleet_audit', inventory, extra, {'new_key': key, 'old_key': old_key})
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    report = json.loads((reports / 'icr-fleet-audit.json').read_text())
    markdown = (reports / 'icr-fleet-audit.md').read_text()
    iam_id = emu.directory.key_by_name('svc-reader').iam_id
    summary = report['summary']
    assert (summary['hosts'], summary['audited'], summary['without_result']) == (2, 2, [])
    assert summary['identities'] == [{'identity': 'API key svc-reader-key (%s)' % iam_id, 'hosts': ['audit-a']},
                                     {'identity': iam_id, 'hosts': ['audit-b']}]
    assert summary['hosts_with_problems'] == [{'host': 'audit-b', 'problems': 1, 'codes': ['file_mode']}]
    assert summary['known_keys_unused'] == ['old-key']
    hosts = dict((h['host'], h) for h in report['hosts'])
    row_a = [r for r in hosts['audit-a']['entries'] if r['format'] == 'docker'][0]
    assert (row_a['user'], row_a['registry'], row_a['method'], row_a['username_type'], row_a['key_name'],
            row_a['fingerprint']) == (alice.pw_name, 'us.icr.io', 'file', 'iamapikey', 'svc-reader-key', fingerprint(key))
    row_b = [r for r in hosts['audit-b']['entries'] if r['format'] == 'docker'][0]
    assert (row_b['user'], row_b['username_type'], row_b['iam_id'], row_b['fingerprint'], row_b['expired']) == (
        bob.pw_name, 'iambearer', iam_id, fingerprint(token), False)
    assert row_b['expires_at'] == iso8601(jwt_claims(token)['exp'])

    assert '2 hosts, 2 audited, 0 without a result, 1 with problems.' in markdown
    assert '| API key svc-reader-key (%s) | audit-a | 1 |' % iam_id in markdown
    assert '| %s | audit-b | 1 |' % iam_id in markdown
    assert '| audit-b | 1 | file_mode |' in markdown
    assert ('| %s | %s | us.icr.io | file | iamapikey | API key svc-reader-key (%s) | %s | - | - |'
            % (alice.pw_name, pathlib.Path(alice.pw_dir) / '.docker' / 'config.json', iam_id, fingerprint(key))) in markdown
    assert ('| %s | %s | us.icr.io | file | iambearer | %s | %s | %s | no |'
            % (bob.pw_name, bob_docker, iam_id, fingerprint(token), row_b['expires_at'])) in markdown
    assert '(mode 0644); chmod 600 it.' in markdown

    # In check mode the reports are written all the same, by default in the working directory;
    # fleet_audit_fail_on_problems fails the run after writing them.
    for report_file in reports.iterdir():
        report_file.unlink()
    check_extra = dict((k, v) for k, v in extra.items() if k != 'fleet_audit_report_dir')
    checked = run_playbook(tmp_path / 'audit-check', 'icr.auth.fleet_audit', inventory,
                           dict(check_extra, fleet_audit_fail_on_problems=True), {'new_key': key, 'old_key': old_key},
                           args=['--check'], cwd=reports)
    assert checked.returncode != 0 and 'hosts with problems or without a result were found' in checked.stdout
    assert json.loads((reports / 'icr-fleet-audit.json').read_text())['summary']['identities'] == summary['identities']
    assert (reports / 'icr-fleet-audit.md').exists() and bob_docker.read_text() == bob_before
    assert_no_secret([key, old_key, token, token_auth], done.stdout, done.stderr, markdown, checked.stdout,
                     (reports / 'icr-fleet-audit.json').read_text(), (tmp_path / 'audit' / 'results.jsonl').read_text())


def test_a_trusted_profile_login_is_audited_as_the_profile(emu, tmp_path, own_files):
    docker, _containers, env = own_files
    key = emu.apikey('svc-other-account')
    profile = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
    tasks = [
        {'name': 'login', 'icr.auth.icr_login': {'registries': ['us.icr.io'], 'username_type': 'trusted_profile',
                                                 'trusted_profile_id': profile, 'password': '{{ key }}'}},
        {'name': 'info', 'icr.auth.icr_login_info': {'format': 'docker', 'forbid_api_keys': True}, 'register': 'info'},
    ]
    run = run_play(tmp_path / 'play', tasks, secret_vars={'key': key}, env=env, args=['-vvvv'])
    assert run.rc == 0, run.text[-3000:]
    username, secret, auth = stored(docker, 'us.icr.io')
    assert (username, secret) == (profile, key)
    entry = by_registry(run.result('info')['result'], 'docker')['us.icr.io']
    assert (entry['method'], entry['username_type'], entry['iam_id'], entry['fingerprint']) == (
        'file', 'trusted_profile', 'iam-' + profile, fingerprint(key))
    assert [p['code'] for p in run.result('info')['result']['problems']] == ['plaintext_api_key']
    assert_no_secret([key, auth], run.stdout, run.stderr, run.records)
