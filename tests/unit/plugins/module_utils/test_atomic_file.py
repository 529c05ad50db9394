# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_atomic_file: bounded reads, the lock, atomic writes, stale temp files, attributes."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _atomic_file as atomic_file
from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes, open_dir
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import read_fifo_without_writer


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


def spy_open(monkeypatch):
    """The calls made to os.open, as (name, flags, mode or None, dir_fd or 'no dir_fd')."""
    calls = []
    real_open = os.open

    def spy(name, flags, mode=0o777, **kwargs):
        calls.append((name, flags, mode, kwargs.get('dir_fd', 'no dir_fd')))
        return real_open(name, flags, mode, **kwargs)
    monkeypatch.setattr(os, 'open', spy)
    return calls


def raise_on_open(monkeypatch, number, text):
    def refuse(*args, **kwargs):
        raise OSError(number, text)
    monkeypatch.setattr(os, 'open', refuse)


READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK


def test_read_at_opens_without_following_links_blocking_or_leaking_to_children(tmp_path, monkeypatch):
    (tmp_path / 'config.json').write_bytes(b'{}')
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        calls = spy_open(monkeypatch)
        assert atomic_file.read_at(fd, 'config.json', 'p')[0] == b'{}'
        assert atomic_file.read_at(fd, 'config.json', 'p', nofollow=False)[0] == b'{}'
        assert atomic_file.read_at(None, str(tmp_path / 'config.json'), 'p')[0] == b'{}'
    finally:
        monkeypatch.undo()
        os.close(fd)
    assert calls == [('config.json', READ_FLAGS | os.O_NOFOLLOW, 0o777, fd),
                     ('config.json', READ_FLAGS, 0o777, fd),
                     (str(tmp_path / 'config.json'), READ_FLAGS | os.O_NOFOLLOW, 0o777, 'no dir_fd')]


def test_read_at_refuses_a_link_unless_told_to_follow_it(tmp_path):
    (tmp_path / 'real.json').write_bytes(b'{"a": 1}')
    os.symlink('real.json', str(tmp_path / 'config.json'))
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        with pytest.raises(ConfigFileError) as err:
            atomic_file.read_at(fd, 'config.json', '/x/config.json')
        assert atomic_file.read_at(fd, 'config.json', 'p', nofollow=False)[0] == b'{"a": 1}'
    finally:
        os.close(fd)
    assert err.value.msg == ('/x/config.json turned into a symbolic link while it was being updated; refusing to '
                             'follow it as root. Nothing was written.')
    with pytest.raises(ConfigFileError) as err:
        atomic_file.read_at(None, str(tmp_path / 'config.json'), '/x/config.json')
    assert err.value.msg.startswith('/x/config.json turned into a symbolic link')


@pytest.mark.parametrize('number', [errno.EACCES, errno.EPERM])
def test_read_at_says_how_to_get_past_a_refused_read(monkeypatch, number):
    raise_on_open(monkeypatch, number, os.strerror(number))
    with pytest.raises(ConfigFileError) as err:
        atomic_file.read_at(None, 'config.json', '/x/config.json')
    monkeypatch.undo()
    assert err.value.msg == ('Cannot read /x/config.json: permission denied. Run as its owner (become) or fix its '
                             'permissions.')


def test_read_at_names_any_other_failure(monkeypatch):
    raise_on_open(monkeypatch, errno.EIO, 'Input/output error')
    with pytest.raises(ConfigFileError) as err:
        atomic_file.read_at(None, 'config.json', '/x/config.json')
    monkeypatch.undo()
    assert err.value.msg == 'Cannot read /x/config.json: Input/output error.'


def test_read_at_refuses_what_is_not_a_regular_file(tmp_path):
    (tmp_path / 'config.json').mkdir()
    with pytest.raises(ConfigFileError) as err:
        atomic_file.read_at(None, str(tmp_path / 'config.json'), '/x/config.json')
    assert err.value.msg == '/x/config.json is not a regular file; give the path of a JSON file.'


def test_read_at_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    error, seconds = read_fifo_without_writer(tmp_path, 'config.json',
                                              lambda path: atomic_file.read_at(None, path, '/x/config.json'),
                                              ConfigFileError)
    assert error.msg == '/x/config.json is not a regular file; give the path of a JSON file.' and seconds < 1.5


def short_reads(monkeypatch, most):
    """os.read gives at most `most` bytes a call; returns the sizes asked for."""
    asked = []
    real_read = os.read

    def read(fd, size):
        asked.append(size)
        return real_read(fd, min(size, most))
    monkeypatch.setattr(os, 'read', read)
    return asked


def lying_size(monkeypatch, size):
    """os.fstat says the file has `size` bytes: as if it grew after fstat."""
    real_fstat = os.fstat

    def fstat(fd):
        values = list(real_fstat(fd))
        values[stat.ST_SIZE] = size
        return os.stat_result(values)
    monkeypatch.setattr(os, 'fstat', fstat)


def test_read_at_reads_a_file_of_the_largest_size_in_any_number_of_pieces(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    content = bytes(range(10)) * 10
    path.write_bytes(content)
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', 100)
    asked = short_reads(monkeypatch, 7)
    raw, st = atomic_file.read_at(None, str(path), 'p')
    monkeypatch.undo()
    assert raw == content and st.st_size == 100
    # 14 reads of 7 bytes, a 15th of the last 2 (3 asked), a 16th (1 asked) finds the end.
    assert asked == [101 - 7 * i for i in range(15)] + [1]


def test_read_at_refuses_a_file_that_grew_past_the_largest_size_while_it_was_read(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', 100)
    lying_size(monkeypatch, 10)
    path.write_bytes(b'x' * 100)
    assert atomic_file.read_at(None, str(path), 'p')[0] == b'x' * 100
    path.write_bytes(b'x' * 101)
    for most in (1000, 7, 1):
        short_reads(monkeypatch, most)
        with pytest.raises(ConfigFileError) as err:
            atomic_file.read_at(None, str(path), '/x/config.json')
        assert err.value.msg == ('/x/config.json grew past the 100 bytes a registry auth file can sensibly be while it '
                                 'was read; it was left unchanged.')


def test_read_at_reads_at_most_a_mebibyte_at_a_time(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    content = os.urandom(1024 * 1024 + 5)
    path.write_bytes(content)
    asked = short_reads(monkeypatch, 1 << 30)
    raw = atomic_file.read_at(None, str(path), 'p')[0]
    monkeypatch.undo()
    assert raw == content
    # 1 MiB, then the 5 bytes left (1 MiB asked), then the end (1 MiB asked).
    assert asked == [1024 * 1024] * 3


def fixed_random(monkeypatch, *values):
    """os.urandom gives these bytes in turn (the last one again and again); returns the sizes asked for."""
    asked = []

    def urandom(size):
        asked.append(size)
        return values[min(len(asked), len(values)) - 1]
    monkeypatch.setattr(os, 'urandom', urandom)
    return asked


TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def test_the_temp_file_is_new_private_and_named_after_the_file(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    calls = spy_open(monkeypatch)
    atomic_file.write_atomic(str(path), b'{}', Attributes(mode=0o644))
    monkeypatch.undo()
    temps = [c for c in calls if c[0].startswith('.config.json.')]
    assert len(temps) == 1 and temps[0][1:3] == (TEMP_FLAGS, 0o600) and isinstance(temps[0][3], int)
    assert re.fullmatch(r'\.config\.json\.[0-9a-f]{12}\.tmp', temps[0][0])
    assert os.listdir(str(tmp_path)) == ['config.json'] and mode_of(path) == 0o644


def test_a_taken_temp_name_is_left_alone_and_another_is_tried(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    planted = tmp_path / '.config.json.000000000000.tmp'
    planted.write_bytes(b'planted')
    asked = fixed_random(monkeypatch, b'\0' * 6, b'\1' * 6)
    atomic_file.write_atomic(str(path), b'{}', Attributes())
    monkeypatch.undo()
    assert asked == [6, 6] and path.read_bytes() == b'{}' and planted.read_bytes() == b'planted'
    assert sorted(os.listdir(str(tmp_path))) == ['.config.json.000000000000.tmp', 'config.json']


def test_the_writer_gives_up_after_a_hundred_taken_temp_names(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    path.write_bytes(b'old')
    (tmp_path / '.config.json.000000000000.tmp').write_bytes(b'planted')
    asked = fixed_random(monkeypatch, b'\0' * 6)
    with pytest.raises(ConfigFileError) as err:
        atomic_file.write_atomic(str(path), b'{}', Attributes())
    monkeypatch.undo()
    assert err.value.msg == f'Could not create a temp file beside {path}: 100 names were taken.'
    assert len(asked) == 100 and path.read_bytes() == b'old'


def test_a_link_in_place_of_the_file_is_refused_and_left_as_it_is(tmp_path):
    (tmp_path / 'real.json').write_bytes(b'old')
    os.symlink('real.json', str(tmp_path / 'config.json'))
    with pytest.raises(ConfigFileError) as err:
        atomic_file.write_atomic(str(tmp_path / 'config.json'), b'{}', Attributes())
    assert err.value.msg == f'{tmp_path / "config.json"} is not a regular file; it was left unchanged.'
    assert os.readlink(str(tmp_path / 'config.json')) == 'real.json' and (tmp_path / 'real.json').read_bytes() == b'old'


def test_a_file_that_cannot_be_inspected_is_named(tmp_path):
    path = tmp_path / ('x' * 300)
    with pytest.raises(ConfigFileError) as err:
        atomic_file.write_atomic(str(path), b'{}', Attributes())
    assert err.value.msg == f'Cannot inspect {path}: File name too long.'


def failing_fsync(monkeypatch, error):
    """The first os.fsync (the temp file's) raises error."""
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 1:
            raise error
        return real_fsync(fd)
    monkeypatch.setattr(os, 'fsync', fsync)


@pytest.mark.parametrize('number', [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_refused_write_says_so_and_leaves_no_temp_file(tmp_path, monkeypatch, number):
    path = tmp_path / 'config.json'
    path.write_bytes(b'old')
    failing_fsync(monkeypatch, OSError(number, os.strerror(number)))
    with pytest.raises(ConfigFileError) as err:
        atomic_file.write_atomic(str(path), b'secret', Attributes())
    monkeypatch.undo()
    assert err.value.msg == f'Cannot write {path}: {os.strerror(number)}. The file was left unchanged.'
    assert os.listdir(str(tmp_path)) == ['config.json'] and path.read_bytes() == b'old'


@pytest.mark.parametrize('dir_fd', [False, True])
def test_a_failed_write_says_so_and_leaves_no_temp_file(tmp_path, monkeypatch, dir_fd):
    path = tmp_path / 'config.json'
    path.write_bytes(b'old')
    fd = open_dir(str(tmp_path), Attributes())[0] if dir_fd else None
    failing_fsync(monkeypatch, OSError(errno.ENOSPC, 'No space left on device'))
    try:
        with pytest.raises(ConfigFileError) as err:
            atomic_file.write_atomic(str(path), b'secret', Attributes(), dir_fd=fd, current=os.stat(str(path)))
    finally:
        monkeypatch.undo()
        if fd is not None:
            os.close(fd)
    assert err.value.msg == f'Writing {path} failed: No space left on device. The file was left unchanged.'
    assert os.listdir(str(tmp_path)) == ['config.json'] and path.read_bytes() == b'old'


def test_an_interrupted_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    path.write_bytes(b'old')
    failing_fsync(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        atomic_file.write_atomic(str(path), b'secret', Attributes())
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == ['config.json'] and path.read_bytes() == b'old'


def test_the_file_then_its_directory_are_flushed_to_disk(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_ino)
        return real_fsync(fd)
    monkeypatch.setattr(os, 'fsync', fsync)
    atomic_file.write_atomic(str(path), b'{}', Attributes())
    monkeypatch.undo()
    assert synced == [os.stat(str(path)).st_ino, os.stat(str(tmp_path)).st_ino]


def spy_fchown(monkeypatch):
    calls = []
    real_fchown = os.fchown

    def fchown(fd, uid, gid):
        calls.append((uid, gid))
        return real_fchown(fd, uid, gid)
    monkeypatch.setattr(os, 'fchown', fchown)
    return calls


def test_no_owner_is_set_when_none_is_asked_or_the_file_is_the_writers(tmp_path, monkeypatch):
    path = tmp_path / 'config.json'
    calls = spy_fchown(monkeypatch)
    atomic_file.write_atomic(str(path), b'{}', Attributes())
    atomic_file.write_atomic(str(path), b'{"a": 1}', Attributes())
    atomic_file.write_atomic(str(path), b'{"a": 2}', Attributes(owner=os.geteuid(), group=os.getegid()))
    monkeypatch.undo()
    assert calls == [] and path.read_bytes() == b'{"a": 2}'
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (os.geteuid(), os.getegid())


def owner_of(path):
    st = os.stat(str(path))
    return st.st_uid, st.st_gid


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_a_written_file_gets_the_owner_asked_else_keeps_its_own(tmp_path):
    path = tmp_path / 'config.json'
    atomic_file.write_atomic(str(path), b'{}', Attributes())
    assert owner_of(path) == (0, os.getegid())
    atomic_file.write_atomic(str(path), b'{}', Attributes(owner=1234))
    assert owner_of(path) == (1234, os.getegid())
    atomic_file.write_atomic(str(path), b'{}', Attributes(group=5678))
    assert owner_of(path) == (1234, 5678)
    os.chown(str(path), 0, 0)
    atomic_file.write_atomic(str(path), b'{}', Attributes(owner=1234, group=5678))
    assert owner_of(path) == (1234, 5678) and mode_of(path) == 0o600
    atomic_file.write_atomic(str(path), b'{"a": 1}', Attributes())
    assert owner_of(path) == (1234, 5678) and path.read_bytes() == b'{"a": 1}'
    os.chown(str(path), 0, 5678)
    atomic_file.write_atomic(str(path), b'{"a": 2}', Attributes())
    assert owner_of(path) == (0, 5678)
    os.chown(str(path), 1234, 0)
    fd = open_dir(str(tmp_path), Attributes())[0]
    try:
        atomic_file.write_atomic(str(path), b'{"a": 3}', Attributes(), dir_fd=fd, current=os.stat(str(path)))
    finally:
        os.close(fd)
    assert owner_of(path) == (1234, 0) and path.read_bytes() == b'{"a": 3}'


def stale_temps_removed(tmp_path, with_dir_fd):
    path = tmp_path / 'config.json'
    if with_dir_fd:
        fd = open_dir(str(tmp_path), Attributes())[0]
        try:
            atomic_file.remove_stale_temps(str(path), dir_fd=fd)
        finally:
            os.close(fd)
    else:
        atomic_file.remove_stale_temps(str(path))
    return sorted(os.listdir(str(tmp_path)))


@pytest.mark.parametrize('with_dir_fd', [False, True])
def test_only_regular_temp_files_of_this_file_are_removed(tmp_path, with_dir_fd):
    for name in ('.config.json.abc.tmp', '.config.json.def.tmp', '.other.json.abc.tmp', 'config.json',
                 '.config.json.abc', 'config.json.abc.tmp'):
        (tmp_path / name).write_text('')
    os.symlink('config.json', str(tmp_path / '.config.json.link.tmp'))
    (tmp_path / '.config.json.dir.tmp').mkdir()
    assert stale_temps_removed(tmp_path, with_dir_fd) == ['.config.json.abc', '.config.json.dir.tmp',
                                                          '.config.json.link.tmp', '.other.json.abc.tmp',
                                                          'config.json', 'config.json.abc.tmp']
    assert os.readlink(str(tmp_path / '.config.json.link.tmp')) == 'config.json'


@pytest.mark.parametrize('with_dir_fd', [False, True])
def test_a_temp_file_gone_meanwhile_does_not_stop_the_others_being_removed(tmp_path, monkeypatch, with_dir_fd):
    (tmp_path / '.config.json.abc.tmp').write_text('')
    real_listdir = os.listdir
    monkeypatch.setattr(os, 'listdir', lambda where: ['.config.json.gone.tmp'] + real_listdir(where))
    stale_temps_removed(tmp_path, with_dir_fd)
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
@pytest.mark.parametrize('with_dir_fd', [False, True])
def test_a_temp_file_of_another_user_is_left_alone(tmp_path, with_dir_fd):
    (tmp_path / '.config.json.abc.tmp').write_text('')
    os.chown(str(tmp_path / '.config.json.abc.tmp'), 1234, 1234)
    assert stale_temps_removed(tmp_path, with_dir_fd) == ['.config.json.abc.tmp']


def test_stale_temps_of_a_missing_directory_are_no_error(tmp_path):
    atomic_file.remove_stale_temps(str(tmp_path / 'gone' / 'config.json'))


def existing_file(tmp_path, mode=0o644):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    os.chmod(str(path), mode)
    return path


def apply(tmp_path, attributes, name='config.json', path='/x/config.json'):
    fd = open_dir(str(tmp_path), Attributes())[0]
    try:
        return atomic_file.apply_attributes(fd, name, path, attributes)
    finally:
        os.close(fd)


def test_attributes_not_asked_leave_the_file_as_it_is(tmp_path, monkeypatch):
    path = existing_file(tmp_path)
    calls = spy_fchown(monkeypatch)
    assert apply(tmp_path, Attributes()) == 0o644
    assert apply(tmp_path, Attributes(mode=0o644, owner=os.geteuid(), group=os.getegid())) == 0o644
    monkeypatch.undo()
    assert calls == [] and mode_of(path) == 0o644 and path.read_text() == '{}'


def test_attributes_are_applied_through_a_file_opened_without_following_links_or_blocking(tmp_path, monkeypatch):
    existing_file(tmp_path)
    calls = spy_open(monkeypatch)
    assert apply(tmp_path, Attributes(mode=0o600)) == 0o600
    monkeypatch.undo()
    opened = [c for c in calls if c[0] == 'config.json']
    assert len(opened) == 1 and opened[0][1] == os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    assert isinstance(opened[0][3], int)


def test_attributes_are_not_applied_through_a_link(tmp_path):
    existing_file(tmp_path)
    os.symlink('config.json', str(tmp_path / 'link.json'))
    with pytest.raises(ConfigFileError) as err:
        apply(tmp_path, Attributes(mode=0o600), name='link.json')
    assert err.value.msg == ('/x/config.json changed while it was being written (it turned into a symbolic link); '
                             'nothing was written there. Run again.')
    assert mode_of(tmp_path / 'config.json') == 0o644


def test_a_file_that_cannot_be_opened_for_its_attributes_raises_the_error(tmp_path, monkeypatch):
    existing_file(tmp_path)
    fd = open_dir(str(tmp_path), Attributes())[0]
    raise_on_open(monkeypatch, errno.EACCES, 'Permission denied')
    try:
        with pytest.raises(OSError) as err:
            atomic_file.apply_attributes(fd, 'config.json', '/x/config.json', Attributes(mode=0o600))
    finally:
        monkeypatch.undo()
        os.close(fd)
    assert err.type is PermissionError and err.value.errno == errno.EACCES


def test_attributes_are_not_applied_to_what_is_not_a_regular_file(tmp_path):
    (tmp_path / 'config.json').mkdir()
    with pytest.raises(ConfigFileError) as err:
        apply(tmp_path, Attributes(mode=0o600))
    assert err.value.msg == '/x/config.json is not a regular file; it was left unchanged.'
    error, seconds = read_fifo_without_writer(tmp_path, 'fifo.json',
                                              lambda path: apply(tmp_path, Attributes(mode=0o600), 'fifo.json', path),
                                              ConfigFileError)
    assert error.msg == f'{tmp_path / "fifo.json"} is not a regular file; it was left unchanged.' and seconds < 1.5


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_the_owner_and_group_asked_are_given_to_an_unchanged_file(tmp_path):
    path = existing_file(tmp_path)
    os.chown(str(path), 0, 0)
    assert apply(tmp_path, Attributes(owner=1234)) == 0o644
    assert owner_of(path) == (1234, 0)
    assert apply(tmp_path, Attributes(group=5678)) == 0o644
    assert owner_of(path) == (1234, 5678)
    assert apply(tmp_path, Attributes(owner=0, group=0, mode=0o600)) == 0o600
    assert owner_of(path) == (0, 0) and mode_of(path) == 0o600 and path.read_text() == '{}'


def test_attributes_differ_only_in_what_is_asked(tmp_path):
    path = existing_file(tmp_path, 0o600)
    st = os.stat(str(path))
    assert not atomic_file.attributes_differ(None, Attributes(mode=0o644, owner=st.st_uid + 1))
    assert not atomic_file.attributes_differ(st, Attributes())
    assert not atomic_file.attributes_differ(st, Attributes(mode=0o600, owner=st.st_uid, group=st.st_gid))
    assert atomic_file.attributes_differ(st, Attributes(mode=0o644))
    assert atomic_file.attributes_differ(st, Attributes(owner=st.st_uid + 1))
    assert atomic_file.attributes_differ(st, Attributes(group=st.st_gid + 1))
    assert atomic_file.attributes_differ(st, Attributes(mode=0o600, owner=st.st_uid, group=st.st_gid + 1))
