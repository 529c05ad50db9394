# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: a writer of config.json killed with SIGKILL at random moments, 200 times.

Each writer is a separate process (forked from the test, so it starts in about a millisecond) that loops over
``_config_store.update`` on a ~1.5 MB config.json, one generation after another, and tells the test over a pipe
which generation it is about to write and which it has written.  The test kills it after a random delay drawn
around the measured length of one update, so kills land while reading, planning, holding the lock, writing the
temp file, fsyncing and renaming.  After every kill the file must parse and be byte for byte either the last
generation written or the one being written - never empty, truncated or a mix.
"""

from __future__ import annotations

import base64
import json
import os
import random
import select
import shutil
import signal
import time

import pytest

from rel_support import mode_of, record, temp_leftovers
from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils import _config_store as store  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._atomic_file import write_atomic  # noqa: E402  pylint: disable=wrong-import-order
from ansible_collections.icr.auth.plugins.module_utils._target import Target  # noqa: E402  pylint: disable=wrong-import-order

KILLS = 200
HOST = 'gen.example.com'


def base_config():
    """~1.5 MB: many other registries and a large unknown key, as a CI host's long-lived config.json can be."""
    auths = dict(('mirror-%04d.example.com' % i, {'auth': base64.b64encode(b'user%04d:%s' % (i, b'p' * 40)).decode()})
                 for i in range(8000))
    return {'auths': auths, 'HttpHeaders': {'User-Agent': 'ci'}, 'x-notes': 'n' * 500000}


def plan_for(generation):
    return lambda data: auth_file.plan_present(data, [HOST], 'iamapikey', 'secret-generation-%06d' % generation)


def expected_bytes(base, generation):
    return auth_file.serialize(plan_for(generation)(base)[0])


def writer(path, first_generation, out_fd):  # pragma: no cover - runs in the forked child
    """Write generations first_generation, +1, ... until killed.

    Tells the parent 'B<g>' before an update, 'W<g>' when write_atomic starts and 'D<g>' once the update returned.
    """
    real_write_atomic = store.write_atomic
    current = [first_generation]

    def traced(*args, **kwargs):
        os.write(out_fd, b'W%d\n' % current[0])
        return real_write_atomic(*args, **kwargs)

    store.write_atomic = traced   # this forked child's copy only: update() still runs the real code
    target = Target(str(path), 'docker')
    while True:
        os.write(out_fd, b'B%d\n' % current[0])
        store.update(target, plan_for(current[0]))
        os.write(out_fd, b'D%d\n' % current[0])
        current[0] += 1


def spawn(path, generation):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(read_fd)
            writer(path, generation, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    return pid, read_fd


def read_until(fd, marker, timeout=10):
    """Bytes from the child's pipe up to and including the first line starting with marker."""
    data = b''
    deadline = time.monotonic() + timeout
    while not any(line.startswith(marker) for line in data.split(b'\n')[:-1]):
        ready, _w, _x = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError('the writer never reached %r' % marker)
        chunk = os.read(fd, 1)   # one byte at a time: stop right at the marker, leave the rest in the pipe
        if not chunk:
            raise AssertionError('the writer died before %r' % marker)
        data += chunk
    return data


def drain(fd, head=b''):
    chunks = [head]
    while True:
        ready, _w, _x = select.select([fd], [], [], 5)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b''.join(chunks).decode().split()


def generation_in(path):
    data = json.loads(path.read_bytes())
    auth = data['auths'][HOST]['auth']
    return int(base64.b64decode(auth).decode().rsplit('-', 1)[1])


@pytest.fixture(scope='module')
def killed_writers(tmp_path_factory):
    """Run the 200 kills once; the tests below assert on what was seen."""
    rng = random.Random(int(os.environ.get('ICR_REL_SEED', '8')))
    tmp = tmp_path_factory.mktemp('crash')
    path = tmp / 'config.json'
    base = base_config()
    path.write_bytes(auth_file.serialize(base))
    os.chmod(str(path), 0o600)
    # How long one write_atomic and one update take here, to spread the kills over them.
    content = auth_file.serialize(base)
    started = time.monotonic()
    for _round in range(3):
        write_atomic(str(path), content, Target(str(path), 'docker'))
    one_write = (time.monotonic() - started) / 3
    started = time.monotonic()
    for generation in range(3):
        store.update(Target(str(path), 'docker'), plan_for(generation))
    one_update = (time.monotonic() - started) / 3
    generation = 3
    seen = {'kills': 0, 'old': 0, 'new': 0, 'bad': [], 'wrote_between': 0, 'temp_after_kill': 0, 'delays': [],
            'one_update': one_update, 'one_write': one_write, 'in_write': 0, 'size': path.stat().st_size, 'modes': set(), 'path': path,
            'temps': {}}
    cache = {}
    for _kill in range(KILLS):
        temps_before = len(temp_leftovers(tmp))
        pid, fd = spawn(path, generation)
        head = b''
        if _kill % 2:
            # Every other kill: anywhere in the loop (reading, parsing, waiting for or holding the lock, writing).
            delay = rng.uniform(0, 2.5 * one_update)
        else:
            # The others: inside write_atomic (mkstemp, write, fchmod, fsync, rename, directory fsync).
            head = read_until(fd, b'W')
            delay = rng.uniform(0, 1.2 * one_write)
            seen['in_write'] += 1
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        lines = drain(fd, head)
        seen['kills'] += 1
        seen['delays'].append(delay)
        begun = [int(x[1:]) for x in lines if x.startswith('B')]
        done = [int(x[1:]) for x in lines if x.startswith('D')]
        seen['wrote_between'] += len(done)
        last_done = done[-1] if done else generation - 1
        candidates = {last_done}
        if begun and begun[-1] != last_done:
            candidates.add(begun[-1])
        raw = path.read_bytes()
        try:
            found = generation_in(path)
        except (ValueError, KeyError) as exc:
            seen['bad'].append('kill %d: file does not parse (%s), %d bytes' % (_kill, exc, len(raw)))
            break
        for g in (found,):
            if g not in cache:
                cache.clear()
                cache[g] = expected_bytes(base, g)
        if found not in candidates or raw != cache[found]:
            seen['bad'].append('kill %d: file holds generation %s, expected one of %s, bytes equal: %s'
                               % (_kill, found, sorted(candidates), raw == cache.get(found)))
            break
        seen['new' if found != last_done else 'old'] += 1
        seen['modes'].add(mode_of(path))
        if len(temp_leftovers(tmp)) > temps_before:
            seen['temp_after_kill'] += 1
        # Stat each temp file a killed writer left now, before the next writer (holding the lock) removes it.
        for name in temp_leftovers(tmp):
            if name not in seen['temps']:
                try:
                    seen['temps'][name] = os.stat(str(tmp / name))
                except FileNotFoundError:
                    pass
        generation = found + 1
    # A writer after all those kills gets the lock at once and writes.
    started = time.monotonic()
    store.update(Target(str(path), 'docker'), plan_for(generation))
    seen['next_write_seconds'] = time.monotonic() - started
    seen['final_generation'] = generation_in(path)
    seen['generation'] = generation
    seen['temps_after_next_write'] = temp_leftovers(tmp)
    yield seen
    shutil.rmtree(str(tmp), ignore_errors=True)     # ~100 MB of leftover temp copies


def test_every_kill_leaves_the_old_or_the_new_file_never_a_broken_one(killed_writers):
    seen = killed_writers
    assert seen['bad'] == []
    assert seen['kills'] == KILLS
    assert seen['modes'] == {0o600}
    # The kills really landed inside writes: some left a temp file behind (killed between mkstemp and rename),
    # some landed on a completed new generation.
    assert seen['temp_after_kill'] > 10, seen['temp_after_kill']
    assert seen['next_write_seconds'] < 5 and seen['final_generation'] == seen['generation']
    record('Writer process (store.update in a loop on a %.1f MB config.json; one update ≈ %.0f ms, its write_atomic ≈ '
           '%.0f ms) killed with SIGKILL: %d times at a random moment of the loop (0-%.0f ms), %d times at a random moment '
           'inside write_atomic' % (seen['size'] / 1e6, seen['one_update'] * 1000, seen['one_write'] * 1000,
                                    KILLS - seen['in_write'], 2.5 * seen['one_update'] * 1000, seen['in_write']),
           KILLS, 'after every kill the file parsed and was byte-identical to the old (%d) or the new (%d) generation, '
           'never empty or truncated; mode stayed 0600; %d kills landed between temp-file creation and rename; the '
           'next writer got the lock at once (%.2f s)'
           % (seen['old'], seen['new'], seen['temp_after_kill'], seen['next_write_seconds']),
           'test_rel_crash::test_every_kill_leaves_the_old_or_the_new_file_never_a_broken_one')


def test_leftover_temp_files_hold_no_more_than_the_owner_may_read(killed_writers):
    """A killed writer's temp file holds the secret: it must at least be as private as the file (0600, same owner)."""
    # Each was stat'ed right after the kill that left it; as many as the kills that landed between temp-file creation
    # and rename, so the check below looks at real leftovers, not at none.
    assert len(killed_writers['temps']) >= killed_writers['temp_after_kill'] > 10, len(killed_writers['temps'])
    for st in killed_writers['temps'].values():
        assert st.st_mode & 0o077 == 0 and st.st_uid == os.getuid()
    record('Permissions of the temp files that SIGKILLed writers left behind', len(killed_writers['temps']),
           'every one 0600 and owned by the writer (they hold the secret)',
           'test_rel_crash::test_leftover_temp_files_hold_no_more_than_the_owner_may_read')


def test_no_temp_file_is_left_behind_once_the_next_writer_ran(killed_writers):
    record('Temp files left in the directory after the 200 kills and one more successful write',
           len(killed_writers['temps_after_next_write']),
           'held: %d stale .config.json.*.tmp files remain after the next write (the writer that holds the lock removes '
           'those a killed writer left)' % len(killed_writers['temps_after_next_write']),
           'test_rel_crash::test_no_temp_file_is_left_behind_once_the_next_writer_ran')
    assert killed_writers['temps_after_next_write'] == []
