# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: root's run against a hostile local user and a hostile registry.

Two throwaway local users, ``mal`` (the attacker) and ``vic`` (another user), made and removed by this module.
Each test plays one attack and asserts the outcome that matters: who owns every file that holds the secret,
what root created, chmodded or chowned, what a credential helper process saw (identity and environment), and
how much memory root used. Root runs icr_login's own code (``Login(...).run()``) in this process, or in a
child whose peak memory is measured; the proxy case is a real ``ansible-playbook -vvv`` run.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import random
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from playrunner import run_play
from rel_support import (
    as_user,
    create_user,
    driver_env,
    record,
    remove_user,
    shared_tmpdir,
    snapshot,
    temp_leftovers,
)
from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils import _cache as cache  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._login import Login  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._registry import verify  # noqa: E402  pylint: disable=wrong-import-order

pytestmark = pytest.mark.needs_root

MAL = 'mal'
VIC = 'vic'
HOST = 'hostile.example.com'
KEY = 'HostileCaseKey0123456789abcdef'
RACE_ATTEMPTS = 2000


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret_forms(key=KEY):
    return [key.encode(), b64('iamapikey:' + key).encode(), b64(key).encode()]


@pytest.fixture(scope='module')
def world():
    if os.geteuid() != 0:
        pytest.skip('needs root')
    base = shared_tmpdir('icr-rel-hostile-')
    mal = create_user(MAL, base / 'home-mal')
    vic = create_user(VIC, base / 'home-vic')
    sticky = base / 'tmp'                       # like /tmp: root's, 1777
    sticky.mkdir()
    os.chmod(str(sticky), 0o1777)
    root_only = base / 'root-only'
    root_only.mkdir(mode=0o700)
    (root_only / 'keep.json').write_text('{"root": "only"}')
    os.chmod(str(root_only / 'keep.json'), 0o600)
    public = base / 'public'
    (public / 'docker').mkdir(parents=True)
    os.chmod(str(public), 0o755)
    os.chmod(str(public / 'docker'), 0o755)
    (public / 'docker' / 'config.json').write_text(json.dumps({'auths': {}, 'root': 'public'}))
    os.chmod(str(public / 'docker' / 'config.json'), 0o644)
    yield {'base': base, 'mal': mal, 'vic': vic, 'sticky': sticky, 'root_only': root_only, 'public': public}
    for entry in (mal, vic):
        stop_processes(entry.pw_uid)
    remove_user(MAL)
    remove_user(VIC)
    shutil.rmtree(str(base), ignore_errors=True)


def stop_processes(uid):
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                if os.stat('/proc/' + name).st_uid == uid:
                    os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def secret_files(top, key=KEY):
    """[(path, uid, mode)] of every regular file below top that holds the secret in any form."""
    found = []
    forms = secret_forms(key)
    for root, dirs, files in os.walk(str(top)):
        for name in files + dirs:
            full = os.path.join(root, name)
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(full, 'rb') as handle:
                raw = handle.read()
            if any(f in raw for f in forms):
                found.append((full, st.st_uid, stat.S_IMODE(st.st_mode)))
    return found


def owned_by_others(top, uid):
    """Files and directories below top that belong to uid."""
    bad = []
    for root, dirs, files in os.walk(str(top)):
        for name in files + dirs:
            full = os.path.join(root, name)
            if os.lstat(full).st_uid == uid:
                bad.append(full)
    return bad


def as_mal(w, func, *args):
    ok, why = as_user(w['mal'], func, *args)
    assert ok, why


def login(params, diff=False):
    """(result or None, message of a refusal or None); anything but the module's own errors propagates."""
    try:
        return Login(params, diff=diff).run(), None
    except IcrAuthError as exc:
        return None, exc.msg


def clean(path):
    path = str(path)
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


# ------------------------------------------------------------------------------------------------ finding 1

def _mal_dir(w):
    os.mkdir(str(w['sticky'] / 'ci'), 0o755)


def _mal_file(w):
    fd = os.open(str(w['sticky'] / 'config.json'), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)


def _mal_link(w):
    fd = os.open(str(pathlib.Path(w['mal'].pw_dir) / 'mine.json'), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    os.symlink(str(pathlib.Path(w['mal'].pw_dir) / 'mine.json'), str(w['sticky'] / 'config.json'))


STICKY_CASES = [
    ('dir-made-by-mal', _mal_dir, 'ci/docker/config.json'),
    ('file-made-by-mal', _mal_file, 'config.json'),
    ('link-planted-by-mal', _mal_link, 'config.json'),
]


@pytest.mark.parametrize('case', STICKY_CASES, ids=[c[0] for c in STICKY_CASES])
def test_1_an_entry_a_user_planted_in_a_sticky_dir_never_gets_roots_secret(world, case):
    name, rig, rel = case
    for child in list(world['sticky'].iterdir()):
        clean(child)
    as_mal(world, rig, world)
    result, refused = login({'registries': [HOST], 'password': KEY, 'config_path': str(world['sticky'] / rel)})
    holders = secret_files(world['base'])
    record('root runs icr_login with config_path in a sticky world-writable dir (like /tmp) where mal planted: %s'
           % name, 1, 'refused (%s); files holding the key afterwards: %s'
           % ((refused or 'NOT refused')[:90], [(p.replace(str(world['base']), ''), u, oct(m)) for p, u, m in holders]),
           'test_rel_hostile::test_1_an_entry_a_user_planted_in_a_sticky_dir_never_gets_roots_secret[%s]' % name)
    assert all(uid == 0 and mode & 0o077 == 0 for _p, uid, mode in holders), holders
    assert result is None and 'did not name' in refused, refused


def test_1_named_owner_in_a_sticky_dir_is_written_for_that_user(world):
    for child in list(world['sticky'].iterdir()):
        clean(child)
    as_mal(world, _mal_dir, world)
    result, refused = login({'registries': [HOST], 'password': KEY, 'owner': MAL,
                             'config_path': str(world['sticky'] / 'ci' / 'config.json')})
    assert refused is None
    holders = secret_files(world['sticky'])
    assert [(u, m) for _p, u, m in holders] == [(world['mal'].pw_uid, 0o600)], holders


def test_11_owner_example_reruns_when_the_directory_already_existed(world):
    """The documented owner: example, with the directory already there (root's, 0700): the rerun works."""
    etc = world['base'] / 'etc' / 'ci' / 'docker'
    etc.mkdir(parents=True, exist_ok=True)
    os.chmod(str(etc), 0o700)
    params = {'registries': [HOST], 'password': KEY, 'config_path': str(etc / 'config.json'), 'owner': VIC,
              'group': VIC, 'mode': '0600'}
    first, why1 = login(dict(params))
    second, why2 = login(dict(params, reauthorize=True))
    st = os.stat(str(etc / 'config.json'))
    record('the documented owner:/group:/mode: example run twice, the directory already there (root 0700)', 2,
           'first: %s; rerun: %s; file uid %d mode %o' % (why1 or 'written', why2 or 'written', st.st_uid,
                                                          stat.S_IMODE(st.st_mode)),
           'test_rel_hostile::test_11_owner_example_reruns_when_the_directory_already_existed')
    assert why1 is None and why2 is None, (why1, why2)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (world['vic'].pw_uid, world['vic'].pw_gid, 0o600)
    assert os.stat(str(etc)).st_uid == 0


def test_11_an_owner_uid_without_a_user_is_refused_before_anything_is_written(world):
    path = world['base'] / 'nouser' / 'config.json'
    result, refused = login({'registries': [HOST], 'password': KEY, 'config_path': str(path), 'owner': '99999'})
    assert not os.path.lexists(str(path.parent))
    assert result is None and 'owner' in refused and 'password database' in refused, refused


# ------------------------------------------------------------------------------------------------ finding 2

def test_2_user_root_with_config_path_keeps_the_link_protection(world):
    home = pathlib.Path(world['mal'].pw_dir)
    ci2 = home / 'ci2'

    def rig():
        os.makedirs(str(ci2), exist_ok=True)
        os.chmod(str(ci2), 0o755)
        if os.path.lexists(str(ci2 / 'config.json')):
            os.unlink(str(ci2 / 'config.json'))
        os.symlink(str(world['root_only'] / 'x.json'), str(ci2 / 'config.json'))
    as_mal(world, rig)
    before = sorted(os.listdir(str(world['root_only'])))
    results = {}
    for user in ('root', '0'):
        results[user] = login({'registries': [HOST], 'password': KEY, 'user': user,
                               'config_path': str(ci2 / 'config.json')})
    after = sorted(os.listdir(str(world['root_only'])))
    record("user: root (and user: '0') with config_path whose last component is mal's link into a root-only dir", 2,
           'root-only dir before %s, after %s; %s' % (before, after, [r[1] for r in results.values()]),
           'test_rel_hostile::test_2_user_root_with_config_path_keeps_the_link_protection')
    assert after == before
    assert all(r[0] is None for r in results.values()), results


# ------------------------------------------------------------------------------------------------ finding 3

def flipper(w, link, target):
    """A child (as mal) that flips link between absent and a symlink to target until killed."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the attacker
        try:
            os.setgroups([])
            os.setgid(w['mal'].pw_gid)
            os.setuid(w['mal'].pw_uid)
            rng = random.Random(os.getpid())
            while True:
                time.sleep(rng.uniform(0, 0.0003))
                try:
                    os.symlink(str(target), str(link))
                except OSError:
                    pass
                time.sleep(rng.uniform(0, 0.0003))
                try:
                    os.unlink(str(link))
                except OSError:
                    pass
        finally:
            os._exit(0)
    return pid


@pytest.mark.parametrize('owner', [None, VIC])
def test_3_race_on_a_missing_dir_below_a_sticky_dir(world, owner):
    """mal flips <sticky>/ci between absent and a link to a root-owned 0755 dir holding docker/config.json (0644)
    while root writes <sticky>/ci/docker/config.json: root must never write, chmod or chown the victim, nor leave a
    copy of the secret anywhere but in its own 0700 directory."""
    for child in list(world['sticky'].iterdir()):
        clean(child)
    victim = world['public'] / 'docker' / 'config.json'
    before = {p: snapshot(p) for p in (world['public'], world['public'] / 'docker', victim)}
    link = world['sticky'] / 'ci'
    pid = flipper(world, link, world['public'])
    counts = {'written': 0, 'refused': 0, 'other': []}
    attempts = 0
    broken = None
    try:
        for attempts in range(1, RACE_ATTEMPTS + 1):
            if os.path.isdir(str(link)) and not os.path.islink(str(link)):
                shutil.rmtree(str(link), ignore_errors=True)     # root's own dir from the attempt before
            params = {'registries': [HOST], 'password': KEY + str(attempts),
                      'config_path': str(link / 'docker' / 'config.json')}
            if owner:
                params['owner'] = owner
            try:
                result, refused = login(params)
            except Exception as exc:  # noqa: BLE001 - counted: a traceback in a real run
                counts['other'].append(repr(exc)[:200])
                continue
            counts['written' if result else 'refused'] += 1
            now = {p: snapshot(p) for p in before}
            leftovers = temp_leftovers(world['public'] / 'docker')
            if now != before or leftovers:
                broken = 'attempt %d: victim changed %s, temp files in the victim dir %s' % (
                    attempts, [str(p) for p in before if now[p] != before[p]], leftovers)
                break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    holders = secret_files(world['public']) + secret_files(world['mal'].pw_dir)
    victim_bytes = victim.read_bytes()
    # Put the victim back for the next case.
    victim.write_text(json.dumps({'auths': {}, 'root': 'public'}))
    os.chmod(str(victim), 0o644)
    os.chown(str(victim), 0, 0)
    for name in temp_leftovers(world['public'] / 'docker'):
        os.unlink(str(world['public'] / 'docker' / name))
    record('race: mal flips a missing directory below a sticky dir between absent and a link to a root-owned 0755 dir '
           'holding a 0644 config.json while root writes there%s' % (' with owner: %s' % owner if owner else ''),
           attempts, ('NOT HELD: ' + broken) if broken else
           'held for all %d attempts: %d written into root\'s own new 0700 directory, %d refused, %d tracebacks; the '
           'victim dir and file kept bytes, mode and owner; no temp copy anywhere else'
           % (attempts, counts['written'], counts['refused'], len(counts['other'])),
           'test_rel_hostile::test_3_race_on_a_missing_dir_below_a_sticky_dir[%s]' % owner)
    assert broken is None, broken
    assert holders == [], holders
    assert KEY.encode() not in victim_bytes
    assert counts['other'] == [], counts['other'][:5]
    assert attempts == RACE_ATTEMPTS


# ------------------------------------------------------------------------------------------------ findings 4, 5

SPY = textwrap.dedent('''\
    #!/usr/bin/python3
    import json, os, sys
    verb = sys.argv[1]
    payload = sys.stdin.read()
    with open(os.environ.get("ICRSPY_LOG", "%(log)s"), "a") as log:
        log.write(json.dumps({"uid": os.getuid(), "verb": verb, "env": dict(os.environ)}) + "\\n")
    store = os.path.join(os.environ["HOME"], ".icrspy.json")
    try:
        data = json.load(open(store))
    except (OSError, ValueError):
        data = {}
    if verb == "store":
        item = json.loads(payload)
        data[item["ServerURL"]] = [item["Username"], item["Secret"]]
    elif verb == "get":
        if payload.strip() not in data:
            print("credentials not found in native keychain"); sys.exit(1)
        user, secret = data[payload.strip()]
        print(json.dumps({"ServerURL": payload.strip(), "Username": user, "Secret": secret})); sys.exit(0)
    elif verb == "erase":
        data.pop(payload.strip(), None)
    fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps(data).encode())
    os.close(fd)
    ''')


@pytest.fixture()
def spy(world, monkeypatch):
    """docker-credential-icrspy on PATH: logs its uid and environment, keeps its store in $HOME/.icrspy.json.
    Root's HOME points at a throwaway dir, so the real /root is never touched."""
    d = world['base'] / 'spy'
    if d.exists():
        shutil.rmtree(str(d))
    (d / 'bin').mkdir(parents=True)
    os.chmod(str(d), 0o755)
    os.chmod(str(d / 'bin'), 0o755)
    log = d / 'log.jsonl'
    log.touch()
    os.chmod(str(log), 0o666)
    program = d / 'bin' / 'docker-credential-icrspy'
    program.write_text(SPY % {'log': log})
    os.chmod(str(program), 0o755)
    root_home = d / 'roothome'
    root_home.mkdir(mode=0o700)
    monkeypatch.setenv('PATH', '%s:%s' % (d / 'bin', os.environ.get('PATH', '/usr/bin:/bin')))
    monkeypatch.setenv('HOME', str(root_home))
    # What a task's environment: and the controller may hand the module.
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxyuser:ProxyPassword0123@127.0.0.1:3128')
    monkeypatch.setenv('IBMCLOUD_API_KEY', 'ControllerExportedKey0123456789')
    for home in (pathlib.Path(world['mal'].pw_dir), pathlib.Path(world['vic'].pw_dir)):
        if (home / '.icrspy.json').exists():
            (home / '.icrspy.json').unlink()
    yield {'log': log, 'root_home': root_home}


def spy_log(spy):
    return [json.loads(line) for line in spy['log'].read_text().splitlines() if line.strip()]


def test_4_a_helper_named_in_a_users_file_runs_as_that_user(world, spy):
    """config_path in mal's directory, no user: root writes as mal, so mal's helper must run as mal too."""
    ci = pathlib.Path(world['mal'].pw_dir) / 'ci4'

    def rig():
        os.makedirs(str(ci), exist_ok=True)
        with open(str(ci / 'config.json'), 'w') as handle:
            json.dump({'credHelpers': {HOST: 'icrspy'}}, handle)
    as_mal(world, rig)
    result, refused = login({'registries': [HOST], 'password': KEY, 'config_path': str(ci / 'config.json')})
    runs = spy_log(spy)
    root_store = spy['root_home'] / '.icrspy.json'
    record("config_path in mal's dir whose config.json names a credential helper (credHelpers), no user:", 1,
           'helper ran as uids %s with HOME %s; root\'s own helper store %s'
           % (sorted(set(r['uid'] for r in runs)), sorted(set(r['env'].get('HOME') for r in runs)),
              'holds the key' if root_store.exists() and KEY in root_store.read_text() else 'untouched'),
           'test_rel_hostile::test_4_a_helper_named_in_a_users_file_runs_as_that_user')
    assert refused is None, refused
    assert runs and all(r['uid'] == world['mal'].pw_uid for r in runs), [r['uid'] for r in runs]
    assert all(r['env'].get('HOME') == world['mal'].pw_dir for r in runs)
    assert not root_store.exists()
    assert KEY in (pathlib.Path(world['mal'].pw_dir) / '.icrspy.json').read_text()


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_4_root_as_itself_refuses_helpers_named_in_a_file_another_user_controls(world, spy, state):
    """A root-owned directory, a config.json that belongs to vic naming a helper: root acts as root there, and
    must not feed (or erase) root's own helper store because of vic's file."""
    d = world['base'] / 'srv4'
    d.mkdir(exist_ok=True)
    os.chmod(str(d), 0o755)
    path = d / 'config.json'
    path.write_text(json.dumps({'credsStore': 'icrspy'}))
    os.chown(str(path), world['vic'].pw_uid, world['vic'].pw_gid)
    root_store = spy['root_home'] / '.icrspy.json'
    root_store.write_text(json.dumps({HOST: ['iamapikey', 'RootsOwnEntry']}))
    result, refused = login({'registries': [HOST], 'password': KEY, 'config_path': str(path), 'state': state})
    runs = spy_log(spy)
    record("root, config_path in a root dir, config.json owned by vic naming credsStore (state: %s)" % state, 1,
           'helper runs as root: %d; root\'s store afterwards %s; %s'
           % (sum(1 for r in runs if r['uid'] == 0), root_store.read_text(), (refused or 'not refused')[:80]),
           'test_rel_hostile::test_4_root_as_itself_refuses_helpers_named_in_a_file_another_user_controls[%s]' % state)
    assert [r for r in runs if r['uid'] == 0] == []
    assert json.loads(root_store.read_text()) == {HOST: ['iamapikey', 'RootsOwnEntry']}
    assert result is None and 'helper' in refused, refused


def test_5_a_helper_gets_a_minimal_environment(world, spy):
    result, refused = login({'registries': [HOST], 'password': KEY, 'user': MAL, 'credential_store': 'icrspy'})
    runs = spy_log(spy)
    seen = dict((k, v) for r in runs for k, v in r['env'].items())
    text = json.dumps(seen)
    record("root runs icr_login with user: mal and a helper, with a proxy password and IBMCLOUD_API_KEY in root's "
           "environment", 1, 'the helper (uid %s) saw the variables %s'
           % (sorted(set(r['uid'] for r in runs)), sorted(seen)),
           'test_rel_hostile::test_5_a_helper_gets_a_minimal_environment')
    assert refused is None and runs, refused
    assert 'ProxyPassword0123' not in text and 'ControllerExportedKey0123456789' not in text
    assert set(seen) <= {'PATH', 'HOME', 'USER', 'LOGNAME', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'LC_CTYPE'}, \
        sorted(seen)
    assert seen['HOME'] == world['mal'].pw_dir and seen['USER'] == MAL


# ------------------------------------------------------------------------------------------------ finding 6

CHILD = textwrap.dedent('''\
    import json, os, sys
    from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
    from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
    from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError
    from ansible_collections.icr.auth.plugins.module_utils._target import Target
    path, fake_size = sys.argv[1], int(sys.argv[2])
    if fake_size:
        real_fstat = os.fstat
        class Fake(object):
            def __init__(self, st):
                self._st = st
            def __getattr__(self, name):
                return fake_size if name == "st_size" else getattr(self._st, name)
        os.fstat = lambda fd: Fake(real_fstat(fd))     # as if the file grew right after the size check
    try:
        store.update(Target(path, "docker"), lambda d: auth_file.plan_present(d, ["h.example.com"], "iamapikey", "k"))
        print("written")
    except IcrAuthError as exc:
        print("refused: " + exc.msg[:300])
    # This process's own peak (VmHWM is per address space: the parent's size before exec does not count).
    with open("/proc/self/status") as status:
        print([line.split()[1] for line in status if line.startswith("VmHWM:")][0])
    ''')


def peak_of(tmp_path, path, fake_size=0):
    """(output, peak RSS in MB) of a child process that runs store.update on path (the collection on PYTHONPATH)."""
    script = tmp_path / 'child.py'
    script.write_text(CHILD)
    proc = subprocess.run([sys.executable, str(script), str(path), str(fake_size)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=driver_env(), check=False)
    lines = proc.stdout.decode('utf-8', 'replace').strip().splitlines()
    return '\n'.join(lines[:-1]), int(lines[-1]) / 1024.0


def test_6_memory_is_bounded_for_many_empty_objects_and_a_file_that_grows(tmp_path):
    many = tmp_path / 'many.json'
    with open(str(many), 'w') as handle:
        handle.write('{"x": [')
        handle.write(','.join(['{}'] * (8 * 1024 * 1024 // 3)))
        handle.write(']}')
    out_many, peak_many = peak_of(tmp_path, many)
    grown = tmp_path / 'grown.json'
    with open(str(grown), 'wb') as handle:
        handle.write(b'{"auths": {}, "pad": "')
        handle.truncate(400 * 1024 * 1024)      # sparse: 400 MB of NUL bytes after a small head
    out_grown, peak_grown = peak_of(tmp_path, grown, fake_size=100)
    record('root reads a 8 MB config.json of 2.8 million empty objects; and a 400 MB sparse file that looks 100 bytes '
           'long at the size check (grown right after it)', 2,
           'peak RSS %.0f MB (%s) and %.0f MB (%s)' % (peak_many, out_many[:60], peak_grown, out_grown[:60]),
           'test_rel_hostile::test_6_memory_is_bounded_for_many_empty_objects_and_a_file_that_grows')
    assert out_many.startswith('refused') and out_grown.startswith('refused'), (out_many, out_grown)
    assert peak_many < 150 and peak_grown < 150, (peak_many, peak_grown)


def test_11_a_rewrite_never_passes_the_size_limit(tmp_path, monkeypatch):
    """Tab indentation can make a file longer than the limit: the module must not write what it then refuses."""
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', 1024 * 1024)
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {}, 'pad': [0] * 330000}, separators=(',', ':')))
    assert path.stat().st_size < auth_file.MAX_FILE_SIZE
    first, why1 = login({'registries': [HOST], 'password': KEY, 'config_path': str(path)})
    size = path.stat().st_size
    second, why2 = login({'registries': [HOST], 'password': KEY + 'x', 'config_path': str(path)})
    record('a config.json just under the size limit that tab indentation would push past it, written twice', 2,
           'first: %s (%d bytes); second: %s' % (why1 or 'written', size, why2 or 'written'),
           'test_rel_hostile::test_11_a_rewrite_never_passes_the_size_limit')
    assert why1 is None and why2 is None, (why1, why2)
    assert size <= auth_file.MAX_FILE_SIZE


# ------------------------------------------------------------------------------------------------ finding 7

def test_7_cache_in_a_dir_another_user_made_never_hands_the_token_over(world):
    d = world['sticky'] / 'icr-cache'
    for child in list(world['sticky'].iterdir()):
        clean(child)
    token = 'FreshIamToken0123456789abcdefXYZ'
    path = cache.entry_path(str(d), 'https://iam.example.com', 'iambearer', 'SomeKey')
    mine = pathlib.Path(world['mal'].pw_dir) / 'grab.json'

    def rig():
        os.mkdir(str(d), 0o777)
        os.chmod(str(d), 0o777)
        fd = os.open(str(mine), os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.symlink(str(mine), path)
    as_mal(world, rig)
    mode_before = stat.S_IMODE(os.stat(str(d)).st_mode)
    warning = cache.save(path, {'username': 'iambearer', 'password': token, 'expires_at': int(time.time()) + 3600,
                                'iam_id': 'x', 'account_id': 'y'})
    holders = secret_files(world['base'], token)
    record("controller token cache in a cache_dir mal made (0777) holding mal's link at the entry's name", 1,
           'files holding the token: %s; dir mode %o -> %o; warning: %s'
           % ([(p.replace(str(world['base']), ''), u) for p, u, _m in holders], mode_before,
              stat.S_IMODE(os.stat(str(d)).st_mode), (warning or '')[:80]),
           'test_rel_hostile::test_7_cache_in_a_dir_another_user_made_never_hands_the_token_over')
    assert holders == [], holders
    assert stat.S_IMODE(os.stat(str(d)).st_mode) == mode_before
    assert warning and 'cache' in warning.lower()


def test_7_a_symlinked_cache_dir_is_not_chmodded(world):
    victim = world['base'] / 'victim7'
    victim.mkdir(exist_ok=True)
    os.chmod(str(victim), 0o755)
    link_parent = pathlib.Path(world['mal'].pw_dir) / 'cache-parent'

    def rig():
        os.makedirs(str(link_parent), exist_ok=True)
        if os.path.lexists(str(link_parent / 'icr.auth')):
            os.unlink(str(link_parent / 'icr.auth'))
        os.symlink(str(victim), str(link_parent / 'icr.auth'))
    as_mal(world, rig)
    path = cache.entry_path(str(link_parent / 'icr.auth'), 'https://iam.example.com', 'iambearer', 'K')
    warning = cache.save(path, {'username': 'iambearer', 'password': 'Tok0123456789', 'expires_at': 2 ** 31,
                                'iam_id': 'x', 'account_id': 'y'})
    st = os.stat(str(victim))
    record("cache_dir that is mal's symlink to a root-owned 0755 directory", 1,
           'victim dir mode %o, entries %s; warning: %s' % (stat.S_IMODE(st.st_mode), os.listdir(str(victim)),
                                                            (warning or '')[:80]),
           'test_rel_hostile::test_7_a_symlinked_cache_dir_is_not_chmodded')
    assert stat.S_IMODE(st.st_mode) == 0o755 and os.listdir(str(victim)) == []
    assert warning


# ------------------------------------------------------------------------------------------------ finding 8

class FakeResponse(object):
    def __init__(self, status, headers=None, body=''):
        self.status_code = status
        self.headers = headers or {}
        self.text = body

    def json(self):
        return json.loads(self.text)


class FakeSession(object):
    """Answers /v2/ with a challenge naming ``realm``; the realm echoes the Authorization header it got."""

    def __init__(self, realm, tls=True):
        self.realm = realm
        self.tls = tls
        self.calls = []

    def get(self, url, params=None, auth=None, timeout=None):
        import requests
        self.calls.append((url, auth))
        if url.startswith('https:') and not self.tls:
            raise requests.exceptions.ConnectionError('the peer does not speak TLS')
        if url.endswith('/v2/'):
            return FakeResponse(401, {'WWW-Authenticate': 'Bearer realm="%s",service="registry"' % self.realm})
        header = 'Basic ' + b64('%s:%s' % auth)
        return FakeResponse(401, body=json.dumps({'errors': [{'code': 'UNAUTHORIZED',
                                                              'message': 'bad credentials: %s' % header}]}))


class Opts(object):
    timeout = 5
    retries = 0
    ca_path = None


@pytest.mark.parametrize('host,realm,tls', [
    ('us.icr.io', 'http://us.icr.io/oauth/token', True),                 # https -> http downgrade
    ('127.0.0.1:5000', 'http://203.0.113.9/oauth/token', False),         # /v2/ over http; realm http off loopback
    ('us.icr.io', 'https://evil.example.com/oauth/token', True),         # an ICR host naming a realm outside ICR
], ids=['https-to-http', 'http-off-loopback', 'icr-host-foreign-realm'])
def test_8_the_key_is_not_sent_to_a_realm_it_must_not_reach(host, realm, tls):
    session = FakeSession(realm, tls=tls)
    outcome = verify(session, Opts(), host, 'iamapikey', KEY)
    sent = [c for c in session.calls if c[1] is not None]
    record('validate against a registry at %s that names the token realm %s' % (host, realm), 1,
           'requests carrying the key: %d; %s' % (len(sent), outcome.msg[:100]),
           'test_rel_hostile::test_8_the_key_is_not_sent_to_a_realm_it_must_not_reach')
    assert sent == [] and not outcome.ok


def test_8_an_echoed_basic_header_is_masked():
    session = FakeSession('http://127.0.0.1:5001/oauth/token', tls=False)
    outcome = verify(session, Opts(), '127.0.0.1:5000', 'iamapikey', KEY)
    record('the token realm answers 401 with a body that echoes the Basic header', 1,
           'message: %s' % outcome.msg[:160], 'test_rel_hostile::test_8_an_echoed_basic_header_is_masked')
    assert not outcome.ok
    for form in secret_forms():
        assert form.decode() not in outcome.msg, outcome.msg
    assert 'Basic ********' in outcome.msg, outcome.msg


# ------------------------------------------------------------------------------------------------ finding 9

def _enc(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip('=')


def jwt(claims_text):
    enc = _enc
    return '%s.%s.%s' % (enc(b'{"alg":"RS256"}'), enc(claims_text.encode()), enc(b'sig'))


@pytest.mark.parametrize('exp', ['Infinity', 'NaN', '1e999', '-Infinity'])
def test_9_a_stored_token_with_an_impossible_exp_is_no_traceback(tmp_path, exp):
    path = tmp_path / 'config.json'
    stored = jwt('{"iam_id": "iam-1", "account": {"bss": "a"}, "exp": %s}' % exp)
    path.write_text(json.dumps({'auths': {HOST: {'auth': b64('iambearer:' + stored)}}}))
    fresh = jwt('{"iam_id": "iam-1", "account": {"bss": "a"}, "exp": %d}' % (time.time() + 3600))
    result, refused = login({'registries': [HOST], 'password': fresh, 'username_type': 'iambearer',
                             'config_path': str(path)})
    assert refused is None and result['registries'][HOST] == 'updated'


@pytest.mark.parametrize('raw', [
    '{"auths": {"%s": {"username": "iamapikey", "password": 5}}}' % HOST,
    '{"auths": {"%s": {"username": "iamapikey", "password": "\\ud800"}}}' % HOST,
    '{"auths": {"%s": {"identitytoken": ["x"]}}}' % HOST,
], ids=['number', 'lone-surrogate', 'list-token'])
def test_9_an_odd_stored_secret_under_diff_is_no_traceback(tmp_path, raw):
    path = tmp_path / 'config.json'
    path.write_text(raw)
    result, refused = login({'registries': [HOST], 'password': KEY, 'config_path': str(path)}, diff=True)
    assert refused is None and result['changed'] and 'sha256:' in result['diff']['before']


def test_9_links_vanishing_while_resolved_are_no_traceback(world):
    """mal flips a link in their own directory while root resolves a config_path through it."""
    ci = pathlib.Path(world['mal'].pw_dir) / 'ci9'

    def rig():
        os.makedirs(str(ci / 'real'), exist_ok=True)
        os.chmod(str(ci), 0o755)
    as_mal(world, rig)
    link = ci / 'via'
    pid = flipper(world, link, ci / 'real')
    tracebacks = []
    attempts = 0
    outcomes = {'written': 0, 'refused': 0}
    try:
        for attempts in range(1, RACE_ATTEMPTS + 1):
            if os.path.isdir(str(link)) and not os.path.islink(str(link)):
                shutil.rmtree(str(link), ignore_errors=True)     # made by an attempt that found no link
            try:
                result, _refused = login({'registries': [HOST], 'password': KEY,
                                          'config_path': str(link / 'config.json')})
                outcomes['written' if result else 'refused'] += 1
            except Exception as exc:  # noqa: BLE001 - what the issue saw: a traceback in a real run
                tracebacks.append(type(exc).__name__)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    record("mal flips a symlink on the way of config_path (in mal's dir) while root resolves it", attempts,
           '%d written, %d refused with a message, %d tracebacks (%s)'
           % (outcomes['written'], outcomes['refused'], len(tracebacks), sorted(set(tracebacks))),
           'test_rel_hostile::test_9_links_vanishing_while_resolved_are_no_traceback')
    assert tracebacks == [], (len(tracebacks), sorted(set(tracebacks)))


# ------------------------------------------------------------------------------------------------ finding 10

def test_10_proxy_credentials_stay_out_of_vvv(tmp_path):
    path = tmp_path / 'config.json'
    task = {'name': 'login', 'icr.auth.icr_login': {
        'registries': [HOST], 'password': '{{ key }}', 'config_path': str(path),
        'proxy': 'http://proxyuser:ProxySecret0123@127.0.0.1:9'}}
    run = run_play(tmp_path / 'play', [task], secret_vars={'key': KEY}, args=('-vvv',))
    record('icr_login with proxy: http://user:password@... at -vvv', 1,
           'the proxy password appears %d times in the output' % run.text.count('ProxySecret0123'),
           'test_rel_hostile::test_10_proxy_credentials_stay_out_of_vvv')
    assert run.result('login')['status'] == 'ok'
    assert 'ProxySecret0123' not in run.text


# ------------------------------------------------------------------------------------------------ finding 11

@pytest.mark.parametrize('variable,fmt,leaf', [('REGISTRY_AUTH_FILE', 'containers', 'auth.json'),
                                               ('DOCKER_CONFIG', 'docker', 'config.json')])
def test_11_a_relative_env_path_means_the_working_directory(tmp_path, monkeypatch, variable, fmt, leaf):
    rel = 'icr-rel-relative-%d' % os.getpid()
    value = rel + '/' + leaf if variable == 'REGISTRY_AUTH_FILE' else rel
    monkeypatch.setenv(variable, value)
    monkeypatch.chdir(str(tmp_path))
    try:
        result, refused = login({'registries': [HOST], 'password': KEY, 'format': fmt})
        assert refused is None
        assert result['config_path'] == str(tmp_path / rel / leaf)
        assert (tmp_path / rel / leaf).is_file()
    finally:
        shutil.rmtree('/' + rel, ignore_errors=True)
