# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""make bench's cleanup: no process of a fleet user outlives the user (rootless podman's pause process did)."""

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

from icr_bench.bench import Bench  # noqa: E402  pylint: disable=wrong-import-position

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
    finally:
        if pause.poll() is None:
            pause.kill()
            pause.wait()
        subprocess.run(['userdel', '--force', USER], capture_output=True, check=False)
        subprocess.run(['rm', '-rf', home], check=False)
