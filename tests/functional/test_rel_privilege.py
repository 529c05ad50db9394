# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: root writing another user's registry auth, and that user attacking it with links.

Two local users made for this module (``icrrela`` attacks, ``icrrelb`` is a bystander) and a set of victim files
root owns.  Before each real ansible-playbook run as root with ``user: icrrela`` (or a ``config_path`` in a
directory icrrela controls), icrrela's home is rigged: ~/.docker/config.json, ~/.docker, ~/.config or
~/.config/containers turned into a symlink to a root-only file or directory or to icrrelb's file, or a hard link.
Afterwards every victim has the same bytes, mode and owner, nothing in icrrela's home belongs to anyone else, and
the run failed with a message that says why.
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
import time

import pytest

from playrunner import run_play
from rel_support import (
    USER_A,
    USER_B,
    as_user,
    create_user,
    record,
    remove_user,
    shared_tmpdir,
    snapshot,
    temp_leftovers,
)
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._login import Login  # noqa: E402  pylint: disable=wrong-import-order

pytestmark = pytest.mark.needs_root

HOST = 'priv.example.com'
KEY = 'PrivilegeCaseKey0123456789'
ENTRY = {'auth': base64.b64encode(('iamapikey:' + KEY).encode()).decode()}


@pytest.fixture(scope='module')
def world():
    """The two users, their homes, and root's victim files (all under one temp dir every user can traverse)."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    base = shared_tmpdir('icr-rel-priv-')
    a = create_user(USER_A, base / 'home-a')
    b = create_user(USER_B, base / 'home-b')
    root_only = base / 'root-only'             # like /root or /etc/shadow: 0700 dir, 0600 files
    root_only.mkdir(mode=0o700)
    (root_only / 'shadow.json').write_text(json.dumps({'auths': {}, 'root': 'only'}))
    os.chmod(str(root_only / 'shadow.json'), 0o600)
    (root_only / 'config.json').write_text(json.dumps({'auths': {}, 'root': 'dir'}))
    os.chmod(str(root_only / 'config.json'), 0o600)
    public = base / 'public'                   # root-owned but readable: 0755 dir, 0644 files
    public.mkdir(mode=0o755)
    (public / 'config.json').write_text(json.dumps({'auths': {}, 'root': 'public'}))
    os.chmod(str(public / 'config.json'), 0o644)
    (public / 'current.json').write_text(json.dumps({'auths': {HOST: ENTRY}, 'root': 'holds the entry already'}))
    os.chmod(str(public / 'current.json'), 0o644)
    (public / 'containers').mkdir(mode=0o755)
    (public / 'containers' / 'auth.json').write_text(json.dumps({'auths': {}, 'root': 'containers'}))
    os.chmod(str(public / 'containers' / 'auth.json'), 0o644)
    b_docker = pathlib.Path(b.pw_dir) / '.docker'
    b_docker.mkdir(mode=0o700)
    (b_docker / 'config.json').write_text(json.dumps({'auths': {'b.example.com': {'auth': 'Yjpi'}}}))
    os.chmod(str(b_docker / 'config.json'), 0o600)
    for p in (b_docker, b_docker / 'config.json'):
        os.chown(str(p), b.pw_uid, b.pw_gid)
    victims = [root_only, root_only / 'shadow.json', root_only / 'config.json', public, public / 'config.json',
               public / 'current.json',
               public / 'containers', public / 'containers' / 'auth.json', pathlib.Path(b.pw_dir), b_docker,
               b_docker / 'config.json', base]
    yield {'base': base, 'a': a, 'b': b, 'victims': victims, 'root_only': root_only, 'public': public,
           'b_config': b_docker / 'config.json', 'b_docker': b_docker}
    remove_user(USER_A)
    remove_user(USER_B)
    shutil.rmtree(str(base), ignore_errors=True)


def fresh_home(world):
    """Empty icrrela's home (as it was when the user was made)."""
    home = pathlib.Path(world['a'].pw_dir)
    for child in home.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(str(child))
        else:
            child.unlink()
    return home


def plant_link(link, target, owner):
    """A symlink made as the user would make it (owned by the user)."""
    if not link.parent.exists():
        user_dir(link.parent, owner)
    link.symlink_to(target)
    os.lchown(str(link), owner.pw_uid, owner.pw_gid)


def user_dir(path, owner, mode=0o700):
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    os.chown(str(path), owner.pw_uid, owner.pw_gid)
    return path


def snap_all(paths):
    return dict((str(p), snapshot(p)) for p in paths)


def foreign_in_home(world):
    """Everything in icrrela's home that is not icrrela's."""
    home = world['a'].pw_dir
    bad = []
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if st.st_uid != world['a'].pw_uid:
                bad.append('%s uid %d' % (os.path.join(root, name), st.st_uid))
    return bad


# --- the cases: (id, how icrrela rigs their home, task args besides registries/password, words, clarity xfail)

def rig_docker_file_to_root_only(w, home):
    plant_link(home / '.docker' / 'config.json', w['root_only'] / 'shadow.json', w['a'])


def rig_docker_file_to_public(w, home):
    plant_link(home / '.docker' / 'config.json', w['public'] / 'config.json', w['a'])


def rig_docker_file_to_current_root_file(w, home):
    plant_link(home / '.docker' / 'config.json', w['public'] / 'current.json', w['a'])


def rig_docker_file_to_other_user(w, home):
    plant_link(home / '.docker' / 'config.json', w['b_config'], w['a'])


def rig_docker_dir_to_root_only(w, home):
    plant_link(home / '.docker', w['root_only'], w['a'])


def rig_docker_dir_to_public(w, home):
    plant_link(home / '.docker', w['public'], w['a'])


def rig_docker_dir_to_other_user(w, home):
    plant_link(home / '.docker', w['b_docker'], w['a'])


def rig_config_dir_to_public(w, home):
    plant_link(home / '.config', w['public'], w['a'])


def rig_containers_dir_to_root_only(w, home):
    user_dir(home / '.config', w['a'])
    plant_link(home / '.config' / 'containers', w['root_only'], w['a'])


def rig_hardlink_to_root_only(w, home):
    user_dir(home / '.docker', w['a'])
    ok, why = as_user(w['a'], os.link, str(w['root_only'] / 'shadow.json'), str(home / '.docker' / 'config.json'))
    # root-only dir: the user cannot even reach the file to link it.
    assert not ok and 'Permission denied' in why, why
    # As if the link had been made before (or with protected_hardlinks off): root makes it.
    os.link(str(w['root_only'] / 'shadow.json'), str(home / '.docker' / 'config.json'))


def rig_hardlink_to_public(w, home):
    user_dir(home / '.docker', w['a'])
    ok, why = as_user(w['a'], os.link, str(w['public'] / 'config.json'), str(home / '.docker' / 'config.json'))
    with open('/proc/sys/fs/protected_hardlinks') as handle:
        protected = handle.read().strip() == '1'
    if protected:
        assert not ok and 'Operation not permitted' in why, why   # the kernel refuses a link to a file not yours
    os.link(str(w['public'] / 'config.json'), str(home / '.docker' / 'config.json'))


PCASES = [
    ('user-docker-config-symlink-to-root-only-file', rig_docker_file_to_root_only, {}, ('permission denied',), None),
    ('user-docker-config-symlink-to-root-readable-file', rig_docker_file_to_public, {}, ('Cannot write',), None),
    ('user-docker-config-symlink-to-other-users-file', rig_docker_file_to_other_user, {}, ('permission denied',), None),
    ('user-docker-dir-symlink-to-root-only-dir', rig_docker_dir_to_root_only, {}, ('permission denied',), None),
    ('user-docker-dir-symlink-to-root-readable-dir', rig_docker_dir_to_public, {}, ('Cannot write',), None),
    ('user-docker-dir-symlink-to-other-users-dir', rig_docker_dir_to_other_user, {}, ('permission denied',), None),
    ('user-dot-config-symlink-to-root-readable-dir', rig_config_dir_to_public, {'format': 'containers'},
     ('Cannot write',), None),
    ('user-containers-dir-symlink-to-root-only-dir', rig_containers_dir_to_root_only, {'format': 'containers'},
     ('permission denied',), None),
    ('user-hardlink-to-root-only-file', rig_hardlink_to_root_only, {}, ('permission denied',), None),
    ('user-hardlink-to-root-readable-file', rig_hardlink_to_public, {}, ('Cannot write', 'Operation not permitted'), None),
    ('user-symlink-to-root-file-already-current-with-mode', rig_docker_file_to_current_root_file, {'mode': '0600'},
     ('mode',), None),
    ('user-owner-root-asked', None, {'owner': 'root'}, ('owner',), None),
]

_RUNS = {}


def run_case(world, tmp_path_factory, case):
    """Rig, run once as root with user: icrrela, and keep the outcome (the two tests below share it)."""
    name, rig, args, _words, _xfail = case
    if name in _RUNS:
        return _RUNS[name]
    home = fresh_home(world)
    if rig:
        rig(world, home)
    before = snap_all(world['victims'])
    holders_before = secret_holders_below(world['base'])     # root's public/current.json holds the key by design
    foreign_before = foreign_in_home(world)      # a hard link the test planted is root's inode: not the run's doing
    task_args = {'registries': [HOST], 'password': '{{ key }}', 'user': USER_A}
    task_args.update(args)
    run = run_play(tmp_path_factory.mktemp('priv'), [{'name': 'login', 'icr.auth.icr_login': task_args,
                                                      'ignore_errors': True}], secret_vars={'key': KEY})
    holders = sorted(h for h in secret_holders_below(world['base']) - holders_before
                     if h[1] != world['a'].pw_uid or h[2] & 0o077)
    outcome = {'run': run, 'result': run.result('login'), 'victims_same': snap_all(world['victims']) == before,
               'foreign_holders': holders,
               'changed_victims': [p for p, s in snap_all(world['victims']).items() if s != before[p]],
               'foreign': [f for f in foreign_in_home(world) if f not in foreign_before], 'home': home}
    _RUNS[name] = outcome
    return outcome


def secret_holders_below(top):
    found = set()
    for root, _dirs, _files in os.walk(str(top)):
        found.update(secret_holders(root))
    return found


@pytest.mark.parametrize('case', PCASES, ids=[c[0] for c in PCASES])
def test_root_never_touches_anything_but_the_users_own_files(world, tmp_path_factory, case):
    outcome = run_case(world, tmp_path_factory, case)
    assert outcome['victims_same'], 'root changed %s' % outcome['changed_victims']
    # Whoever else ends up holding the key: only the user, in a 0600 file.
    assert outcome['foreign_holders'] == [], outcome['foreign_holders']
    assert outcome['foreign'] == []
    assert outcome['result']['status'] == 'failed'
    assert KEY not in outcome['run'].text
    record('root runs icr_login with user: %s whose home is rigged: %s' % (USER_A, case[0].replace('user-', '')), 1,
           'refused; every root-owned and other-user file and dir kept its bytes, mode and owner; nothing in the '
           "user's home belongs to anyone else",
           'test_rel_privilege::test_root_never_touches_anything_but_the_users_own_files[%s]' % case[0])


def clarity_params():
    out = []
    for case in PCASES:
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case[4])] if case[4] else []
        out.append(pytest.param(case, id=case[0], marks=marks))
    return out


@pytest.mark.parametrize('case', clarity_params())
def test_the_refusal_says_why(world, tmp_path_factory, case):
    outcome = run_case(world, tmp_path_factory, case)
    msg = outcome['result']['result'].get('msg', '')
    if case[4]:
        record('clear message when root-as-user is refused: %s' % case[0].replace('user-', ''), 1,
               'NOT HELD (xfail, reported): an unhandled PermissionError ("Module failed: [Errno ...] ...", traceback) '
               'instead of the module\'s own message; nothing was written',
               'test_rel_privilege::test_the_refusal_says_why[%s]' % case[0])
    assert 'MODULE FAILURE' not in msg, json.dumps(outcome['result']['result'])[:1500]
    for word in case[3]:
        assert word.lower() in msg.lower(), msg


def test_config_path_in_a_users_dir_is_written_as_that_user(world, tmp_path):
    """No user: option; config_path in a directory icrrela owns: root acts as icrrela, and icrrela's link is refused."""
    home = fresh_home(world)
    d = user_dir(home / 'ci', world['a'], 0o755)
    task = {'name': 'login', 'icr.auth.icr_login': {'registries': [HOST], 'password': '{{ key }}',
                                                    'config_path': str(d / 'config.json')}, 'ignore_errors': True}
    ok = run_play(tmp_path / 'ok', [task], secret_vars={'key': KEY})
    assert ok.result('login')['status'] == 'ok'
    st = os.stat(str(d / 'config.json'))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (world['a'].pw_uid, 0o600)
    (d / 'config.json').unlink()
    plant_link(d / 'config.json', world['root_only'] / 'shadow.json', world['a'])
    sub = user_dir(home / 'ci2', world['a'], 0o755)
    plant_link(sub / 'docker', world['root_only'], world['a'])
    before = snap_all(world['victims'])
    tasks = [task, {'name': 'via-dir', 'icr.auth.icr_login': {'registries': [HOST], 'password': '{{ key }}',
                                                              'config_path': str(sub / 'docker' / 'config.json')},
                    'ignore_errors': True}]
    bad = run_play(tmp_path / 'bad', tasks, secret_vars={'key': KEY})
    for task_name in ('login', 'via-dir'):
        res = bad.result(task_name)
        assert res['status'] == 'failed' and 'permission denied' in res['result']['msg'].lower(), res
    assert snap_all(world['victims']) == before and foreign_in_home(world) == []
    record('config_path (no user:) in a directory the user owns: a plain run, then the file or the directory on the way '
           'turned into a symlink to a root-only file/dir', 3, 'plain run: written as the user (owner icrrela, 0600); '
           'both links refused with "permission denied"; root-only files unchanged',
           'test_rel_privilege::test_config_path_in_a_users_dir_is_written_as_that_user')


def test_root_owned_symlink_into_a_users_dir_still_acts_as_the_user(world, tmp_path):
    home = fresh_home(world)
    d = user_dir(home / 'ci', world['a'], 0o755)
    link = world['base'] / 'srv-link'
    if os.path.lexists(str(link)):
        link.unlink()
    link.symlink_to(d)                  # root's own link, e.g. /srv/ci -> /home/icrrela/ci
    try:
        task = {'name': 'login', 'icr.auth.icr_login': {'registries': [HOST], 'password': '{{ key }}',
                                                        'config_path': str(link / 'config.json')}}
        run = run_play(tmp_path, [task], secret_vars={'key': KEY})
        assert run.result('login')['status'] == 'ok'
        owner = os.stat(str(d / 'config.json')).st_uid
        record('config_path through a root-owned symlink into a user-owned directory', 1,
               'held: written as the user (file uid %d), as for the directory reached directly' % owner,
               'test_rel_privilege::test_root_owned_symlink_into_a_users_dir_still_acts_as_the_user')
        assert owner == world['a'].pw_uid, 'the file was created by root (uid %d) in a directory the user controls' % owner
    finally:
        link.unlink()


RACE_ATTEMPTS = 2000


def race(world, directory, config_path):
    """icrrela flips config.json between absent and a symlink to a root-only file, as fast as it can, while root runs
    icr_login's code (Login.run) on config_path up to RACE_ATTEMPTS times. Returns (attempts, victim changed?)."""
    victim = world['root_only'] / 'config.json'
    before = snapshot(victim)
    planted = directory / 'config.json'
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: the attacker
        try:
            os.setgroups([])
            os.setgid(world['a'].pw_gid)
            os.setuid(world['a'].pw_uid)
            rng = random.Random(os.getpid())
            while True:            # the link stays for a random fraction of a millisecond, then is gone as long
                time.sleep(rng.uniform(0, 0.0005))
                try:
                    os.symlink(str(victim), str(planted))
                except OSError:
                    pass
                time.sleep(rng.uniform(0, 0.0005))
                try:
                    os.unlink(str(planted))
                except OSError:
                    pass
        finally:
            os._exit(0)
    attempts = 0
    tracebacks = []
    holders = set()
    try:
        for attempts in range(1, RACE_ATTEMPTS + 1):
            if os.path.lexists(str(planted)) and not os.path.islink(str(planted)):
                holders.update(secret_holders(directory))
                try:
                    os.unlink(str(planted))    # root's own file from a previous attempt: start over
                except FileNotFoundError:
                    pass                       # the attacker removed it first
            try:
                Login({'registries': [HOST], 'password': KEY + str(attempts), 'config_path': str(config_path)}).run()
            except IcrAuthError:
                pass
            except OSError as exc:             # counted: in a real run this is a traceback
                tracebacks.append(type(exc).__name__)
            if snapshot(victim) != before:
                break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    changed = snapshot(victim) != before
    if changed:                             # put the victim back for the other tests
        victim.write_text(json.dumps({'auths': {}, 'root': 'dir'}))
        os.chmod(str(victim), 0o600)
        os.chown(str(victim), 0, 0)
    holders.update(secret_holders(directory))
    holders.update(secret_holders(world['root_only']))
    for name in temp_leftovers(world['root_only']):
        os.unlink(str(world['root_only'] / name))
    return attempts, changed, tracebacks, holders


# The key with any attempt number appended: base64 of 'iamapikey:' + KEY (36 bytes) is a stable prefix of its auth.
KEY_PREFIX_B64 = base64.b64encode(('iamapikey:' + KEY).encode())


def secret_holders(directory):
    """{(name, uid, mode)} of the regular files in directory that hold the key (any attempt's)."""
    found = set()
    for name in os.listdir(str(directory)):
        full = os.path.join(str(directory), name)
        try:
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                continue
            with open(full, 'rb') as handle:
                raw = handle.read()
        except OSError:
            continue
        if KEY.encode() in raw or KEY_PREFIX_B64 in raw:
            found.add((full, st.st_uid, stat.S_IMODE(st.st_mode)))
    return found


@pytest.mark.parametrize('where', ['sticky-world-writable-dir', 'root-symlink-into-user-dir'])
def test_symlink_race_cannot_make_root_write_a_root_only_file(world, where):
    fresh_home(world)
    if where == 'sticky-world-writable-dir':
        directory = world['base'] / 'sticky'
        directory.mkdir(exist_ok=True)
        os.chmod(str(directory), 0o1777)     # like /tmp, /var/tmp, a shared CI scratch dir
        config_path = directory / 'config.json'
    else:
        directory = user_dir(pathlib.Path(world['a'].pw_dir) / 'ci', world['a'], 0o755)
        link = world['base'] / 'srv-race'
        if not os.path.lexists(str(link)):
            link.symlink_to(directory)
        config_path = link / 'config.json'
    attempts, changed, tracebacks, holders = race(world, directory, config_path)
    owner = 0 if where.startswith('sticky') else world['a'].pw_uid
    record('symlink race: the user flips %s/config.json between absent and a link to a root-only file while root runs '
           'icr_login on it (%s)' % ('a sticky dir' if where.startswith('sticky') else 'their dir reached through root\'s '
                                     'symlink', where), attempts,
           ('NOT HELD: root rewrote the root-only file (0600 in a 0700 root dir) at attempt %d' % attempts)
           if changed else 'held for all %d attempts; every file that held the key was %s\'s and 0600 (%d seen); '
           '%d tracebacks' % (attempts, 'root' if owner == 0 else USER_A, len(holders), len(tracebacks)),
           'test_rel_privilege::test_symlink_race_cannot_make_root_write_a_root_only_file[%s]' % where)
    assert not changed, 'root rewrote the root-only file through the user\'s symlink after %d attempts' % attempts
    bad = [h for h in holders if h[1] != owner or h[2] != 0o600 or not h[0].startswith(str(directory))]
    assert bad == [], bad
    assert tracebacks == [], (len(tracebacks), sorted(set(tracebacks)))
