# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""make bench's cleanup: no process of a fleet user outlives the user (rootless podman's pause process did), and
none of its runtime directories in /tmp (podman-run-UID, containers-user-UID) is left behind."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.dirname(HERE), os.path.join(HERE, '..', '..', 'infra'), os.path.join(HERE, '..', '..', 'emulator')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from icr_bench.bench import Bench, remove_runtime_dirs  # noqa: E402  pylint: disable=wrong-import-position

USER = 'icrbenchpause'


class _Stub:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def stop(self):
        return None


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates a local user')
def test_stop_leaves_no_process_of_a_deleted_fleet_user():
    home = tempfile.mkdtemp(prefix='icr-bench-pause-')
    subprocess.run(['userdel', '--force', USER], capture_output=True, check=False)
    subprocess.run(['useradd', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--user-group',
                    USER], check=True, capture_output=True)
    entry = pwd.getpwnam(USER)
    os.chown(home, entry.pw_uid, entry.pw_gid)

    def drop():
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
        os.setsid()
    # Stands for podman's pause process: started by the user, detached, never ends by itself.
    pause = subprocess.Popen(['sleep', '600'], preexec_fn=drop)  # pylint: disable=subprocess-popen-preexec-fn
    runtime = ['/tmp/podman-run-%d' % entry.pw_uid, '/tmp/containers-user-%d' % entry.pw_uid]
    for path in runtime:  # as rootless podman makes them for a user without XDG_RUNTIME_DIR
        os.makedirs(os.path.join(path, 'libpod'), exist_ok=True)
        for directory in (path, os.path.join(path, 'libpod')):
            os.chown(directory, entry.pw_uid, entry.pw_gid)
    try:
        bench = Bench.__new__(Bench)
        bench.fleet = _Stub(created_users=[USER])
        bench.dockerd = bench.registry = bench.emulator = None
        bench.settings = _Stub(keep_users=False, keep=False)
        bench.work = None
        bench.stop()
        deadline = time.monotonic() + 5
        while pause.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = pause.poll() is None
        assert not alive, 'the user\'s process %d outlived the user' % pause.pid
        with pytest.raises(KeyError):
            pwd.getpwnam(USER)
        assert [p for p in runtime if os.path.lexists(p)] == []
    finally:
        for path in runtime:
            subprocess.run(['rm', '-rf', path], check=False)
        if pause.poll() is None:
            pause.kill()
            pause.wait()
        subprocess.run(['userdel', '--force', USER], capture_output=True, check=False)
        subprocess.run(['rm', '-rf', home], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root: gives files to another uid')
def test_only_the_runtime_directories_the_fleet_uid_owns_are_removed(tmp_path):
    owned, foreign = 64001, 64002
    for uid in (owned, foreign):
        for name in ('podman-run-%d' % uid, 'containers-user-%d' % uid):
            (tmp_path / name / 'sub').mkdir(parents=True)
            os.chown(str(tmp_path / name), owned, owned)  # the second uid's directories are not its own
    os.symlink(str(tmp_path / ('podman-run-%d' % foreign)), str(tmp_path / 'podman-run-64003'))
    (tmp_path / 'podman-run-64003-other').mkdir()
    removed = remove_runtime_dirs({owned, foreign, 64003}, tmp=str(tmp_path))
    assert removed == [str(tmp_path / ('podman-run-%d' % owned)), str(tmp_path / ('containers-user-%d' % owned))]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'containers-user-%d' % foreign, 'podman-run-%d' % foreign, 'podman-run-64003', 'podman-run-64003-other']
