# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import contextlib
import errno
import fcntl
import os
import pwd
import shutil
import stat
import tempfile
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.plugins.module_utils._target import Target
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, OTHER_KEY, iam_token

HOSTS = ['us.icr.io', 'de.icr.io']


def present(key=API_KEY, username='iamapikey', hosts=None, **kw):
    return lambda data: auth_file.plan_present(data, hosts or HOSTS, username, key, **kw)


def target(path, **kw):
    return Target(str(path), 'docker', **kw)


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_new_file_is_0600_in_0700_dirs_and_holds_docker_shape(tmp_path):
    path = tmp_path / 'a' / 'b' / 'config.json'
    result = store.update(target(path), present())
    assert result['changed'] and result['actions'] == {'us.icr.io': 'added', 'de.icr.io': 'added'}
    assert mode_of(path) == 0o600
    assert mode_of(tmp_path / 'a') == 0o700 and mode_of(tmp_path / 'a' / 'b') == 0o700
    data = json.loads(path.read_text())
    assert decode_auth(data['auths']['us.icr.io']['auth']) == ('iamapikey', API_KEY)
    assert path.read_text().startswith('{\n\t"auths"')
    assert os.listdir(str(path.parent)) == ['config.json']


def test_unchanged_is_not_rewritten(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present())
    before = os.stat(str(path))
    os.utime(str(path), ns=(before.st_atime_ns - 10 ** 9, before.st_mtime_ns - 10 ** 9))
    stamp = os.stat(str(path))
    result = store.update(target(path), present())
    assert not result['changed'] and set(result['actions'].values()) == {'unchanged'}
    after = os.stat(str(path))
    assert (after.st_ino, after.st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)


def test_unknown_keys_and_other_registries_are_kept(tmp_path):
    path = tmp_path / 'config.json'
    original = {'auths': {'quay.io': {'auth': encode_auth('bob', 'pw'), 'email': 'b@example.com'},
                          'us.icr.io': {'auth': encode_auth('iamapikey', OTHER_KEY), 'email': 'keep@example.com'}},
                'HttpHeaders': {'User-Agent': 'x'}, 'detachKeys': 'ctrl-e,e', 'plugins': {'a': {'b': [1, 2]}},
                'credHelpers': {'gcr.io': 'gcloud'}}
    path.write_text(json.dumps(original))
    result = store.update(target(path), present())
    assert result['actions'] == {'us.icr.io': 'updated', 'de.icr.io': 'added'}
    data = json.loads(path.read_text())
    for key in ('HttpHeaders', 'detachKeys', 'plugins', 'credHelpers'):
        assert data[key] == original[key]
    assert data['auths']['quay.io'] == original['auths']['quay.io']
    assert data['auths']['us.icr.io']['email'] == 'keep@example.com'
    assert decode_auth(data['auths']['us.icr.io']['auth']) == ('iamapikey', API_KEY)


@pytest.mark.parametrize('content,words', [
    (b'{"auths": ', 'not valid JSON'), (b'null', 'JSON null'), (b'[1]', 'JSON array'), (b'"x"', 'JSON string'),
    (b'{"auths": []}', '"auths" is a JSON array'), (b'{"credsStore": 1}', '"credsStore" is a JSON number'),
    (b'\xff\xfe{', 'not UTF-8'), (b'{"auths": {"us.icr.io": "x"}}', 'not an object'),
])
def test_unparsable_file_fails_and_is_left_byte_identical(tmp_path, content, words):
    path = tmp_path / 'config.json'
    path.write_bytes(content)
    os.chmod(str(path), 0o644)
    stamp = os.stat(str(path))
    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), present())
    assert words in err.value.msg and str(path) in err.value.msg
    assert path.read_bytes() == content
    assert os.stat(str(path)).st_mtime_ns == stamp.st_mtime_ns and mode_of(path) == 0o644
    assert os.listdir(str(tmp_path)) == ['config.json']


def test_empty_and_blank_files_are_empty_configs(tmp_path):
    path = tmp_path / 'config.json'
    path.write_bytes(b'  \n')
    assert store.update(target(path), present())['actions']['us.icr.io'] == 'added'
    assert 'us.icr.io' in json.loads(path.read_text())['auths']


def test_existing_mode_is_kept_and_mode_option_applies(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    os.chmod(str(path), 0o640)
    store.update(target(path), present())
    assert mode_of(path) == 0o640
    result = store.update(target(path, mode=0o600), present())
    assert result['changed'] and mode_of(path) == 0o600


def test_absent_removes_only_named_hosts_and_reports_it(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': 'eA=='}, 'quay.io': {'auth': 'eQ=='}}}))
    result = store.update(target(path), lambda d: auth_file.plan_absent(d, HOSTS))
    assert result['changed'] and result['actions'] == {'us.icr.io': 'removed', 'de.icr.io': 'unchanged'}
    assert json.loads(path.read_text()) == {'auths': {'quay.io': {'auth': 'eQ=='}}}
    again = store.update(target(path), lambda d: auth_file.plan_absent(d, HOSTS))
    assert not again['changed']


def test_absent_without_file_creates_nothing(tmp_path):
    path = tmp_path / 'sub' / 'config.json'
    result = store.update(target(path), lambda d: auth_file.plan_absent(d, HOSTS))
    assert not result['changed'] and not (tmp_path / 'sub').exists()


def test_check_mode_writes_nothing_but_reports(tmp_path):
    path = tmp_path / 'd' / 'config.json'
    result = store.update(target(path), present(), check_mode=True)
    assert result['changed'] and result['actions']['us.icr.io'] == 'added'
    assert not (tmp_path / 'd').exists()


def test_bearer_token_of_same_identity_kept_while_valid_and_replaced_when_expiring(tmp_path):
    path = tmp_path / 'config.json'
    old = iam_token(lifetime=3600)
    store.update(target(path), present(old, 'iambearer'))
    newer = iam_token(lifetime=3600, jti='other')
    assert newer != old
    kept = store.update(target(path), present(newer, 'iambearer', min_validity=600))
    assert not kept['changed']
    assert decode_auth(json.loads(path.read_text())['auths']['us.icr.io']['auth'])[1] == old
    replaced = store.update(target(path), present(newer, 'iambearer', min_validity=3700))
    assert replaced['actions']['us.icr.io'] == 'updated'
    assert decode_auth(json.loads(path.read_text())['auths']['us.icr.io']['auth'])[1] == newer
    forced = store.update(target(path), present(newer, 'iambearer', reauthorize=True))
    assert forced['changed']


def test_expired_bearer_replaced(tmp_path):
    path = tmp_path / 'config.json'
    expired = iam_token(lifetime=-10)
    path.write_text(json.dumps({'auths': {'us.icr.io': {'auth': encode_auth('iambearer', expired)}}}))
    fresh = iam_token(lifetime=3600)
    result = store.update(target(path), present(fresh, 'iambearer', hosts=['us.icr.io']))
    assert result['actions'] == {'us.icr.io': 'updated'}


def test_symlinked_config_is_followed_like_docker(tmp_path):
    real = tmp_path / 'real.json'
    real.write_text('{}')
    link = tmp_path / 'config.json'
    link.symlink_to(real)
    result = store.update(target(link), present())
    assert result['path'] == str(real)
    assert link.is_symlink() and 'us.icr.io' in json.loads(real.read_text())['auths']


def test_concurrent_writers_all_land(tmp_path):
    path = tmp_path / 'config.json'
    hosts = ['r%02d.example.com' % i for i in range(24)]
    errors = []

    def one(host):
        try:
            store.update(target(path), present(hosts=[host]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(json.loads(path.read_text())['auths']) == sorted(hosts)
    assert os.listdir(str(tmp_path)) == ['config.json']


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    path.write_text('{"auths": {}}')

    def broken(src, dst, **_dir_fds):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'replace', broken)
    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), present())
    assert 'No space left' in err.value.msg and 'left unchanged' in err.value.msg
    assert path.read_text() == '{"auths": {}}' and os.listdir(str(tmp_path)) == ['config.json']


def test_the_next_writer_removes_temp_files_a_killed_writer_left(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present())
    stale = tmp_path / '.config.json.abc123.tmp'
    stale.write_text('{"auths": {"leftover": {}}}')
    other = tmp_path / '.other.json.abc.tmp'
    other.write_text('{}')
    store.update(target(path), present(hosts=['jp.icr.io']))
    assert sorted(os.listdir(str(tmp_path))) == ['.other.json.abc.tmp', 'config.json']


def counting_reads(monkeypatch):
    reads = []
    real = store.read_at

    def read_at(*args, **kwargs):
        reads.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(store, 'read_at', read_at)
    return reads


def test_an_unchanged_run_reads_the_file_once_and_a_write_twice(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    store.update(target(path), present())
    reads = counting_reads(monkeypatch)
    assert not store.update(target(path), present())['changed']
    assert reads == [str(path)]
    del reads[:]
    assert store.update(target(path), present(OTHER_KEY))['changed']
    assert reads == [str(path), str(path)]
    del reads[:]
    assert store.update(target(path, mode=0o640), present(OTHER_KEY))['changed'] and mode_of(path) == 0o640
    assert reads == [str(path)]


def test_write_returns_a_new_snapshot_when_another_writer_landed_and_writes_nothing(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    asked = target(path)
    seen = store.inspect(asked)
    assert seen.target is asked and seen.path == str(path)
    new, actions = auth_file.plan_present(seen.data, ['de.icr.io'], 'iamapikey', API_KEY)
    store.update(target(path), present(OTHER_KEY, hosts=['jp.icr.io']))
    other = path.read_bytes()
    again = store.write(seen, new, actions)
    assert isinstance(again, store.Snapshot) and again.raw == other and path.read_bytes() == other
    assert again.target is seen.target and again.acting is seen.acting and again.path == str(path)
    assert again.exists and os.path.samestat(again.stat, os.stat(str(path)))
    assert sorted(again.data['auths']) == ['jp.icr.io', 'us.icr.io']
    new, actions = auth_file.plan_present(again.data, ['de.icr.io'], 'iamapikey', API_KEY)
    result = store.write(again, new, actions)
    assert result['changed'] and result['actions'] == {'de.icr.io': 'added'}
    assert sorted(json.loads(path.read_text())['auths']) == ['de.icr.io', 'jp.icr.io', 'us.icr.io']


def test_update_plans_again_from_what_a_concurrent_writer_left(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    planned = []

    def plan(data):
        planned.append(sorted((data.get('auths') or {})))
        if len(planned) == 1:   # another writer lands between the snapshot and the lock
            store.update(target(path), present(OTHER_KEY, hosts=['jp.icr.io']))
        return auth_file.plan_present(data, ['de.icr.io'], 'iamapikey', API_KEY)

    result = store.update(target(path), plan)
    assert planned == [['us.icr.io'], ['jp.icr.io', 'us.icr.io']]
    assert result['changed'] and result['actions'] == {'de.icr.io': 'added'}
    auths = json.loads(path.read_text())['auths']
    assert decode_auth(auths['jp.icr.io']['auth']) == ('iamapikey', OTHER_KEY)
    assert sorted(auths) == ['de.icr.io', 'jp.icr.io', 'us.icr.io']


def test_a_file_that_keeps_changing_is_given_up_after_max_replans(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    monkeypatch.setattr(store, 'MAX_REPLANS', 3)
    count = [0]

    def plan(data):
        count[0] += 1
        path.write_text(json.dumps({'auths': {}, 'n': count[0]}))
        return auth_file.plan_present(data, ['de.icr.io'], 'iamapikey', API_KEY)

    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), plan)
    assert count[0] == 3
    assert err.value.msg == (f'{path} was changed by other writers 3 times while this run planned its change; nothing '
                             'was written. Run again.')
    assert json.loads(path.read_text()) == {'auths': {}, 'n': 3}


# No example database (nothing written into the tree), no deadline (real files are fsynced).
PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# Property tests (hypothesis): any sequence of add / remove on random hosts keeps every unknown key and ends in the
# model's set.

PROP_HOSTS = ['us.icr.io', 'de.icr.io', 'private.jp.icr.io', 'icr.io', 'registry.example.com:5000', '127.0.0.1:5000',
              '[::1]:5000', 'xn--bcher-kva.example']
RESERVED = ('auths', 'credHelpers', 'credsStore')

json_scalars = st.none() | st.booleans() | st.integers(min_value=-2 ** 63, max_value=2 ** 63) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
unknown_top = st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in RESERVED), json_values, max_size=5)
entry_extras = st.dictionaries(st.sampled_from(['email', 'serveraddress', 'x-note']), st.text(max_size=10), max_size=2)
usernames = st.sampled_from(['iamapikey', 'iambearer', 'iamrefresh'])
passwords = st.text(min_size=1, max_size=40)     # anything, colons and non-ASCII included
hosts_subset = st.lists(st.sampled_from(PROP_HOSTS), min_size=1, max_size=4, unique=True)
operation = st.one_of(
    st.tuples(st.just('add'), hosts_subset, usernames, passwords),
    st.tuples(st.just('remove'), hosts_subset),
)


@st.composite
def starting_files(draw):
    """(initial JSON object or None for no file, {host: (user, password)}, {host: extras})."""
    if draw(st.booleans()):
        return None, {}, {}
    data = dict(draw(unknown_top))
    creds, extras = {}, {}
    auths = {}
    for host in draw(st.lists(st.sampled_from(PROP_HOSTS), max_size=4, unique=True)):
        user, password, extra = draw(usernames), draw(passwords), draw(entry_extras)
        auths[host] = dict(extra, auth=encode_auth(user, password))
        creds[host], extras[host] = (user, password), extra
    data['auths'] = auths
    if draw(st.booleans()):
        data['credHelpers'] = {}
    return data, creds, extras


def expected_actions(op, creds):
    if op[0] == 'add':
        return dict((h, 'added' if h not in creds else ('unchanged' if creds[h] == (op[2], op[3]) else 'updated'))
                    for h in op[1])
    return dict((h, 'removed' if h in creds else 'unchanged') for h in op[1])


def plan_of(op):
    """The plan store.update() is given for one operation."""
    if op[0] == 'add':
        def plan(data):
            return auth_file.plan_present(data, op[1], op[2], op[3])
    else:
        def plan(data):
            return auth_file.plan_absent(data, op[1])
    return plan


@PROPS
@given(start=starting_files(), ops=st.lists(operation, min_size=1, max_size=8))
def test_any_add_remove_sequence_keeps_unknown_keys_and_ends_in_the_model(start, ops):
    initial, creds, extras = start
    creds, extras = dict(creds), dict(extras)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'docker', 'config.json')
        unknown = {}
        if initial is not None:
            os.mkdir(os.path.dirname(path), 0o700)
            with open(path, 'w') as handle:
                json.dump(initial, handle)
            os.chmod(path, 0o600)
            unknown = dict((k, v) for k, v in initial.items() if k != 'auths')
        target = Target(path, 'docker')
        for op in ops:
            want = expected_actions(op, creds)
            result = store.update(target, plan_of(op))
            assert result['actions'] == want
            assert result['changed'] == any(a != 'unchanged' for a in want.values())
            for host, action in want.items():
                if action == 'removed':
                    del creds[host]
                    extras.pop(host, None)
                elif action == 'added':
                    creds[host] = (op[2], op[3])
                    extras[host] = {}
                elif action == 'updated':
                    creds[host] = (op[2], op[3])
            if not os.path.exists(path):
                assert not creds and initial is None      # only a run that had something to write creates the file
                continue
            with open(path, 'rb') as handle:
                data = json.loads(handle.read().decode('utf-8'))
            assert dict((k, v) for k, v in data.items() if k != 'auths') == unknown
            assert set(data.get('auths') or {}) == set(creds)
            for host, cred in creds.items():
                entry = data['auths'][host]
                assert decode_auth(entry['auth']) == cred
                assert dict((k, v) for k, v in entry.items() if k != 'auth') == extras[host]
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert sorted(os.listdir(os.path.dirname(path))) == ['config.json']   # no temp file left


@PROPS
@given(start=starting_files(), hosts=hosts_subset, user=usernames, password=passwords)
def test_a_second_identical_run_changes_nothing_and_does_not_rewrite(start, hosts, user, password):
    initial, _creds, _extras = start
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'config.json')
        if initial is not None:
            with open(path, 'w') as handle:
                json.dump(initial, handle)
        target = Target(path, 'docker')
        store.update(target, lambda data: auth_file.plan_present(data, hosts, user, password))
        before = os.stat(path)
        with open(path, 'rb') as handle:
            content = handle.read()
        again = store.update(target, lambda data: auth_file.plan_present(data, hosts, user, password))
        assert again['changed'] is False and set(again['actions'].values()) == {'unchanged'}
        after = os.stat(path)
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)   # not even rewritten
        with open(path, 'rb') as handle:
            assert handle.read() == content


# --------------------------------------------------------------------------------------------
# check_file_helpers: root runs no credential helper that a file another user can change names.

def stat_of(mode, uid=0):
    """An os.stat_result of a regular file with this permission mode and owner."""
    return os.stat_result((stat.S_IFREG | mode, 1, 1, 1, uid, 0, 2, 0, 0, 0))


def seen_with(tmp_path, mode, uid=0, account=None):
    path = str(tmp_path / 'config.json')
    return store.Snapshot(target(path), Target(path, 'docker', account=account), path, b'{}', stat_of(mode, uid))


def helper_refusal(path, names, who):
    return (f'{path} names the credential helper {names}, but the file can be changed by {who}; root does not run a '
            'helper that another user chose with root\'s own identity and store. Set credential_store: file (or a '
            'helper name), or give user: or owner: for that user.')


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='root only refuses helpers it would run as itself')


@needs_root
@pytest.mark.parametrize('mode', [0o600, 0o644, 0o755, 0o4755, 0o1700])
def test_root_runs_the_helpers_of_a_file_only_root_can_change(tmp_path, mode):
    assert store.check_file_helpers(seen_with(tmp_path, mode), {'us.icr.io': 'pass'}) is None


@needs_root
@pytest.mark.parametrize('mode', [0o620, 0o602, 0o622, 0o666, 0o777])
def test_root_refuses_the_helpers_of_a_root_file_others_can_write(tmp_path, mode):
    seen = seen_with(tmp_path, mode)
    with pytest.raises(ConfigFileError) as err:
        store.check_file_helpers(seen, {'us.icr.io': 'pass', 'de.icr.io': 'ecr-login', 'jp.icr.io': 'pass'})
    assert err.value.msg == helper_refusal(seen.path, 'docker-credential-ecr-login, docker-credential-pass',
                                           'users other than root')


@needs_root
@pytest.mark.parametrize('uid,who', [(65534, 'user nobody (uid 65534)'), (54321, 'uid 54321')])
def test_root_refuses_the_helpers_of_a_file_another_user_owns(tmp_path, uid, who):
    seen = seen_with(tmp_path, 0o600, uid)
    with pytest.raises(ConfigFileError) as err:
        store.check_file_helpers(seen, {'us.icr.io': 'secretservice'})
    assert err.value.msg == helper_refusal(seen.path, 'docker-credential-secretservice', who)


def test_no_helper_named_or_no_file_or_acting_as_the_user_is_never_refused(tmp_path):
    assert store.check_file_helpers(seen_with(tmp_path, 0o666, 65534), {}) is None
    path = str(tmp_path / 'config.json')
    missing = store.Snapshot(target(path), target(path), path, None, None)
    assert store.check_file_helpers(missing, {'us.icr.io': 'pass'}) is None
    nobody = pwd.getpwnam('nobody')
    as_user = seen_with(tmp_path, 0o666, nobody.pw_uid, account=nobody)
    assert store.check_file_helpers(as_user, {'us.icr.io': 'pass'}) is None


def test_a_user_other_than_root_runs_the_helpers_its_files_name(tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    assert store.check_file_helpers(seen_with(tmp_path, 0o666, 65534), {'us.icr.io': 'pass'}) is None


# --------------------------------------------------------------------------------------------
# What write() reports, exactly.

def test_the_result_of_a_created_file_names_every_field(tmp_path):
    path = tmp_path / 'a' / 'config.json'
    new, actions = auth_file.plan_present({}, ['us.icr.io'], 'iamapikey', API_KEY)
    result = store.update(target(path), present(hosts=['us.icr.io']))
    assert result == {'path': str(path), 'before': {}, 'after': new, 'actions': actions,
                      'created_dirs': [str(tmp_path / 'a')], 'changed': True, 'exists': False, 'mode': 0o600}
    assert json.loads(path.read_text()) == new


def test_the_result_of_a_changed_file_keeps_its_mode(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{"auths": {}}')
    os.chmod(str(path), 0o640)
    new, actions = auth_file.plan_present({'auths': {}}, ['us.icr.io'], 'iamapikey', API_KEY)
    result = store.update(target(path), present(hosts=['us.icr.io']))
    assert result == {'path': str(path), 'before': {'auths': {}}, 'after': new, 'actions': actions,
                      'created_dirs': [], 'changed': True, 'exists': True, 'mode': 0o640}
    assert mode_of(path) == 0o640


def test_the_result_of_an_unchanged_file_reports_its_mode(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    os.chmod(str(path), 0o644)
    data = json.loads(path.read_text())
    result = store.update(target(path), present(hosts=['us.icr.io']))
    assert result == {'path': str(path), 'before': data, 'after': data, 'actions': {'us.icr.io': 'unchanged'},
                      'created_dirs': [], 'changed': False, 'exists': True, 'mode': 0o644}


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_mode_change_alone_changes_the_file_unless_in_check_mode(tmp_path, check_mode):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    os.chmod(str(path), 0o644)
    before = path.read_bytes()
    data = json.loads(before)
    result = store.update(target(path, mode=0o600), present(hosts=['us.icr.io']), check_mode=check_mode)
    assert result == {'path': str(path), 'before': data, 'after': data, 'actions': {'us.icr.io': 'unchanged'},
                      'created_dirs': [], 'changed': True, 'exists': True, 'mode': 0o600}
    assert mode_of(path) == (0o644 if check_mode else 0o600) and path.read_bytes() == before


def test_check_mode_reports_the_mode_a_new_file_would_get(tmp_path):
    path = tmp_path / 'd' / 'config.json'
    result = store.update(target(path, mode=0o640), present(hosts=['us.icr.io']), check_mode=True)
    assert result['changed'] is True and result['exists'] is False and result['mode'] == 0o640
    assert result['created_dirs'] == [] and not (tmp_path / 'd').exists()


def test_a_mode_asked_for_a_file_that_is_not_there_changes_nothing(tmp_path):
    path = tmp_path / 'config.json'
    result = store.update(target(path, mode=0o600), lambda d: auth_file.plan_absent(d, HOSTS))
    assert result['changed'] is False and result['exists'] is False and result['mode'] is None
    assert not path.exists()


def test_a_mode_change_on_a_file_whose_directory_went_away_recreates_nothing(tmp_path):
    path = tmp_path / 'd' / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    seen = store.inspect(target(path, mode=0o640))
    shutil.rmtree(str(tmp_path / 'd'))
    with pytest.raises(ConfigFileError) as err:
        store.write(seen, seen.data, {'us.icr.io': 'unchanged'})
    assert err.value.msg == f'Cannot write {path}: No such file or directory (d). The file was left unchanged.'
    assert os.listdir(str(tmp_path)) == []


def test_a_file_too_large_for_a_registry_auth_file_is_not_written(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    new, actions = auth_file.plan_present({}, ['us.icr.io'], 'iamapikey', API_KEY)
    size = len(json.dumps(new, separators=(',', ':')))    # serialize() falls back to compact JSON near the limit
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', size - 1)
    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), present(hosts=['us.icr.io']))
    assert err.value.msg == (f'{path} would be {size} bytes, larger than the {size - 1} bytes a registry auth file '
                             'can sensibly be; it was left unchanged.')
    assert API_KEY not in err.value.msg and not path.exists()
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', size)
    assert store.update(target(path), present(hosts=['us.icr.io']))['changed']
    assert len(path.read_bytes()) == size and json.loads(path.read_text()) == new


def test_a_writer_that_cannot_get_the_lock_names_the_directory(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    real = store.locked
    monkeypatch.setattr(store, 'locked', lambda directory, dir_fd: real(directory, timeout=0.1, dir_fd=dir_fd))
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ConfigFileError) as err:
            store.update(target(path), present(hosts=['us.icr.io']))
    finally:
        os.close(fd)
    assert err.value.msg == f'Another process has held the lock on {tmp_path} for 0 seconds; try again when it is done.'
    assert not path.exists()


@pytest.mark.parametrize('exc,shown', [
    (OSError(errno.EIO, 'Input/output error'), 'Input/output error'),
    (OSError('no strerror here'), 'no strerror here'),
])
def test_an_os_error_while_writing_is_named_and_leaves_the_file(tmp_path, monkeypatch, exc, shown):
    path = tmp_path / 'config.json'
    path.write_text('{}')

    def broken(*args, **kwargs):
        raise exc
    monkeypatch.setattr(store, 'remove_stale_temps', broken)
    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), present(hosts=['us.icr.io']))
    assert err.value.msg == f'Cannot write {path}: {shown}. The file was left unchanged.'
    assert path.read_text() == '{}'


def test_a_directory_on_the_way_that_is_a_file_is_named(tmp_path):
    path = tmp_path / 'file' / 'config.json'
    (tmp_path / 'file').write_text('')
    with pytest.raises(ConfigFileError) as err:
        store.update(target(path), present(hosts=['us.icr.io']))
    assert err.value.msg == f'Cannot read {path}: Not a directory.'
    seen = store.inspect(target(tmp_path / 'later' / 'config.json'))
    (tmp_path / 'later').write_text('')
    new, actions = auth_file.plan_present(seen.data, ['us.icr.io'], 'iamapikey', API_KEY)
    with pytest.raises(ConfigFileError) as err:
        store.write(seen, new, actions)
    assert err.value.msg == (f'Cannot write {seen.path}: Not a directory (later). The file was left unchanged.')


def test_a_path_that_cannot_be_resolved_is_named(tmp_path, monkeypatch):
    def broken(path, account, owner):
        raise OSError(errno.EIO, 'Input/output error')
    monkeypatch.setattr(store, 'locate', broken)
    path = tmp_path / 'config.json'
    with pytest.raises(ConfigFileError) as err:
        store.inspect(target(path))
    assert err.value.msg == f'Cannot resolve {path}: Input/output error. Nothing was written.'


def test_a_link_that_appears_after_root_resolved_the_path_is_not_followed(tmp_path, monkeypatch):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'config.json').write_text('{}')
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    path = str(tmp_path / 'link' / 'config.json')
    monkeypatch.setattr(store, 'locate', lambda p, account, owner: (None, p, True))   # resolved, then swapped
    with pytest.raises(ConfigFileError) as err:
        store.inspect(target(path))
    assert err.value.msg == (f'{tmp_path / "link"} changed while it was being written (a symbolic link appeared on the '
                             'way); nothing was written there. Run again.')


# --------------------------------------------------------------------------------------------
# Root acting as the user who controls the path.

@pytest.fixture()
def nobody_home():
    """(nobody's passwd entry, a directory nobody owns and can reach): tmp_path's parents are root's own 0700."""
    if os.geteuid() != 0:
        pytest.skip('root only acts as another user when it is root')
    base = tempfile.mkdtemp(prefix='icr-store-')
    try:
        os.chmod(base, 0o755)
        home = os.path.join(base, 'home')
        os.mkdir(home, 0o700)
        nobody = pwd.getpwnam('nobody')
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        yield nobody, home
    finally:
        shutil.rmtree(base)


def owner_of(path):
    st = os.stat(str(path))
    return st.st_uid, st.st_gid


def test_root_writes_a_users_file_as_that_user(nobody_home):
    nobody, home = nobody_home
    path = os.path.join(home, '.docker', 'config.json')
    result = store.update(Target(path, 'docker', account=nobody), present(hosts=['us.icr.io']))
    assert result['changed'] and result['path'] == path and result['created_dirs'] == [os.path.dirname(path)]
    assert owner_of(path) == owner_of(os.path.dirname(path)) == (nobody.pw_uid, nobody.pw_gid)
    assert mode_of(path) == 0o600 and mode_of(os.path.dirname(path)) == 0o700


def test_root_acting_as_itself_writes_as_whoever_controls_the_directory(nobody_home):
    nobody, home = nobody_home
    path = os.path.join(home, 'config.json')
    seen = store.inspect(Target(path, 'docker'))
    assert seen.acting.account == nobody and seen.acting.protected and seen.path == seen.acting.path == path
    result = store.update(Target(path, 'docker'), present(hosts=['us.icr.io']))
    assert result['changed'] and owner_of(path) == (nobody.pw_uid, nobody.pw_gid)


def test_root_reads_a_users_file_as_that_user(nobody_home):
    nobody, home = nobody_home
    path = os.path.join(home, 'config.json')
    with open(path, 'w') as handle:
        handle.write('{}')
    os.chmod(path, 0o600)    # root's own file, which that user cannot read
    with pytest.raises(ConfigFileError) as err:
        store.inspect(Target(path, 'docker', account=nobody))
    assert err.value.msg == f'Cannot read {path}: permission denied. Run as its owner (become) or fix its permissions.'
    os.makedirs(os.path.join(home, 'closed', 'sub'))
    os.chmod(os.path.join(home, 'closed'), 0o700)
    deep = os.path.join(home, 'closed', 'sub', 'config.json')
    with pytest.raises(ConfigFileError) as err:
        store.inspect(Target(deep, 'docker', account=nobody))
    assert err.value.msg == f'Cannot read {deep}: permission denied. Run as its owner (become) or fix its permissions.'


def test_a_users_own_link_on_the_way_is_followed_as_that_user(nobody_home):
    nobody, home = nobody_home
    real = os.path.join(home, 'real')
    os.mkdir(real, 0o700)
    os.chown(real, nobody.pw_uid, nobody.pw_gid)
    os.symlink(real, os.path.join(home, '.docker'))
    os.lchown(os.path.join(home, '.docker'), nobody.pw_uid, nobody.pw_gid)
    path = os.path.join(home, '.docker', 'config.json')
    result = store.update(Target(path, 'docker', account=nobody), present(hosts=['us.icr.io']))
    assert result['changed'] and result['path'] == path and result['created_dirs'] == []
    assert owner_of(os.path.join(real, 'config.json')) == (nobody.pw_uid, nobody.pw_gid)


def test_a_failed_write_as_a_user_says_root_acted_as_that_user(nobody_home):
    nobody, home = nobody_home
    path = os.path.join(home, '.docker', 'config.json')
    seen = store.inspect(Target(path, 'docker', account=nobody))
    with open(os.path.dirname(path), 'w') as handle:   # a file where the directory is to be made
        handle.write('')
    new, actions = auth_file.plan_present(seen.data, ['us.icr.io'], 'iamapikey', API_KEY)
    with pytest.raises(ConfigFileError) as err:
        store.write(seen, new, actions)
    assert err.value.msg == (f'Cannot write {path}: Not a directory (.docker). The file was left unchanged. Root acted '
                             'as nobody here, because that user controls this path; the file can only be what that '
                             'user may make it (its owner, group and mode included).')


@needs_root
def test_an_owner_named_by_the_play_may_own_the_file_in_a_shared_directory(tmp_path):
    nobody = pwd.getpwnam('nobody')
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    path = shared / 'config.json'
    path.write_text('{}')
    os.chown(str(path), nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(ConfigFileError) as err:
        store.inspect(target(path))
    assert f'{path} belongs to user nobody (uid {nobody.pw_uid})' in err.value.msg
    result = store.update(target(path, owner=nobody.pw_uid), present(hosts=['us.icr.io']))
    assert result['changed'] and owner_of(path)[0] == nobody.pw_uid


# --------------------------------------------------------------------------------------------
# Check mode reports the mode the file would have; reauthorize rewrites; every step stays in the walked directory.

def test_check_mode_reports_the_mode_a_changed_file_keeps(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    os.chmod(str(path), 0o640)
    result = store.update(target(path), present(hosts=['us.icr.io']), check_mode=True)
    assert result['changed'] is True and result['mode'] == 0o640
    assert path.read_text() == '{}'


def test_check_mode_reports_the_mode_a_file_keeps_when_only_its_owner_changes(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    os.chmod(str(path), 0o644)
    other = os.geteuid() + 12345
    result = store.update(target(path, owner=other), present(hosts=['us.icr.io']), check_mode=True)
    assert result['changed'] is True and result['mode'] == 0o644
    assert os.stat(str(path)).st_uid == os.geteuid() and mode_of(path) == 0o644


def test_reauthorize_rewrites_an_identical_credential(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    before = path.read_bytes()
    inode = os.stat(str(path)).st_ino
    result = store.update(target(path), present(hosts=['us.icr.io'], reauthorize=True))
    assert result['changed'] is True and result['actions'] == {'us.icr.io': 'updated'}
    assert result['before'] == result['after'] and path.read_bytes() == before
    assert os.stat(str(path)).st_ino != inode   # written again: a new file renamed over the old one


def test_a_file_that_became_a_link_before_its_mode_is_changed_is_not_followed(tmp_path):
    path = tmp_path / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    seen = store.inspect(target(path, mode=0o640))
    other = tmp_path / 'other.json'
    other.write_text('{}')
    os.chmod(str(other), 0o600)
    path.unlink()
    path.symlink_to(other)
    with pytest.raises(ConfigFileError) as err:
        store.write(seen, seen.data, {'us.icr.io': 'unchanged'})
    assert err.value.msg == (f'{path} changed while it was being written (it turned into a symbolic link); nothing '
                             'was written there. Run again.')
    assert mode_of(other) == 0o600


def test_lock_cleanup_and_rename_happen_in_the_walked_directory_even_if_the_path_moves(tmp_path, monkeypatch):
    walked = tmp_path / 'd'
    moved = tmp_path / 'd.moved'
    path = walked / 'config.json'
    store.update(target(path), present(hosts=['us.icr.io']))
    (walked / '.config.json.aaaaaa.tmp').write_text('stale')
    real = store.locked
    held = []

    @contextlib.contextmanager
    def swapping(directory, dir_fd):
        os.rename(str(walked), str(moved))   # the path now leads to another directory
        walked.mkdir()
        (walked / '.config.json.bbbbbb.tmp').write_text('not ours to clean')
        with real(directory, dir_fd=dir_fd) as fd:
            held.append(os.fstat(fd))
            yield fd

    monkeypatch.setattr(store, 'locked', swapping)
    result = store.update(target(path), present(OTHER_KEY, hosts=['de.icr.io']))
    assert result['changed'] and result['actions'] == {'de.icr.io': 'added'}
    assert os.path.samestat(held[0], os.stat(str(moved)))
    assert os.listdir(str(moved)) == ['config.json']
    assert sorted(json.loads((moved / 'config.json').read_text())['auths']) == ['de.icr.io', 'us.icr.io']
    assert os.listdir(str(walked)) == ['.config.json.bbbbbb.tmp']
