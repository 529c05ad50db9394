# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
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
    seen = store.inspect(target(path))
    new, actions = auth_file.plan_present(seen.data, ['de.icr.io'], 'iamapikey', API_KEY)
    store.update(target(path), present(OTHER_KEY, hosts=['jp.icr.io']))
    other = path.read_bytes()
    again = store.write(seen, new, actions)
    assert isinstance(again, store.Snapshot) and again.raw == other and path.read_bytes() == other
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
    assert count[0] == 3 and 'changed by other writers 3 times' in err.value.msg
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
