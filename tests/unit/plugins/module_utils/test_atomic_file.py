# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_atomic_file: bounded reads, the lock, atomic writes, stale temp files, attributes."""

from __future__ import annotations

import fcntl
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _atomic_file as atomic_file
from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes, open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_write_atomic_makes_a_0600_file_and_keeps_an_existing_mode(tmp_path):
    path = tmp_path / 'config.json'
    assert atomic_file.write_atomic(str(path), b'{}', Attributes()) == 0o600
    assert path.read_bytes() == b'{}' and mode_of(path) == 0o600
    os.chmod(str(path), 0o640)
    assert atomic_file.write_atomic(str(path), b'{"a": 1}', Attributes()) == 0o640 and mode_of(path) == 0o640
    assert atomic_file.write_atomic(str(path), b'{"a": 2}', Attributes(mode=0o600)) == 0o600 and mode_of(path) == 0o600
    assert os.listdir(str(tmp_path)) == ['config.json']


def test_the_temp_file_is_private_until_the_rename(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst, **dir_fds):
        seen.append(os.stat(src, dir_fd=dir_fds['src_dir_fd']).st_mode)
        return real_replace(src, dst, **dir_fds)
    monkeypatch.setattr(os, 'replace', replace)
    path = tmp_path / 'config.json'
    atomic_file.write_atomic(str(path), b'secret', Attributes(mode=0o644))
    assert [stat.S_IMODE(m) for m in seen] == [0o600] and mode_of(path) == 0o644


def test_a_directory_in_place_of_the_file_is_refused(tmp_path):
    (tmp_path / 'config.json').mkdir()
    with pytest.raises(ConfigFileError) as err:
        atomic_file.write_atomic(str(tmp_path / 'config.json'), b'{}', Attributes())
    assert err.value.msg == f'{tmp_path / "config.json"} is not a regular file; it was left unchanged.'


def test_read_at_is_bounded_and_says_what_is_missing(tmp_path, monkeypatch):
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        assert atomic_file.read_at(fd, 'config.json', 'p') == (None, None)
        (tmp_path / 'config.json').write_bytes(b'x' * 2000)
        raw, st = atomic_file.read_at(fd, 'config.json', 'p')
        assert raw == b'x' * 2000 and st.st_size == 2000
        monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', 1000)
        with pytest.raises(ConfigFileError) as err:
            atomic_file.read_at(fd, 'config.json', 'p')
        assert err.value.msg == ('p is 2000 bytes, larger than the 1000 bytes a registry auth file can sensibly be; it '
                                 'was left unchanged.')
    finally:
        os.close(fd)


def test_the_lock_waits_for_its_holder_and_then_says_so(tmp_path):
    holder = os.open(str(tmp_path), os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(ConfigFileError) as err:
            with atomic_file.locked(str(tmp_path), timeout=0.05):
                pass
        assert err.value.msg == (f'Another process has held the lock on {tmp_path} for 0 seconds; try again when it is '
                                 'done.')
    finally:
        os.close(holder)
    with atomic_file.locked(str(tmp_path), timeout=0.05):
        pass


def test_stale_temps_of_this_file_only_are_removed(tmp_path):
    for name in ('.config.json.abc.tmp', '.other.json.abc.tmp', 'config.json'):
        (tmp_path / name).write_text('')
    atomic_file.remove_stale_temps(str(tmp_path / 'config.json'))
    assert sorted(os.listdir(str(tmp_path))) == ['.other.json.abc.tmp', 'config.json']


def test_attributes_are_applied_to_an_unchanged_file(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    os.chmod(str(path), 0o600)
    st = os.stat(str(path))
    assert not atomic_file.attributes_differ(st, Attributes(mode=0o600, owner=st.st_uid))
    assert atomic_file.attributes_differ(st, Attributes(mode=0o640)) and atomic_file.final_mode(Attributes(), st) == 0o600
    assert atomic_file.final_mode(Attributes(), None) == 0o600 and atomic_file.final_mode(Attributes(mode=0o644), st) == 0o644
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        assert atomic_file.apply_attributes(fd, 'config.json', str(path), Attributes(mode=0o640)) == 0o640
        assert atomic_file.apply_attributes(fd, 'gone.json', str(tmp_path / 'gone.json'), Attributes(mode=0o640)) is None
    finally:
        os.close(fd)
    assert mode_of(path) == 0o640 and path.read_text() == '{}'
