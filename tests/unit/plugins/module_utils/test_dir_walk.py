# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_dir_walk: directories walked from / by file descriptor."""

from __future__ import annotations

import errno
import os
import pwd
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _dir_walk as dir_walk
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes, dir_io_fd, open_dir, refuse_changed
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError


def test_missing_directories_are_made_0700_and_reported(tmp_path):
    fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(), create=True)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(str(tmp_path / 'a' / 'b')))
    finally:
        os.close(fd)
    assert created == [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b')]
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o700 for p in created)
    fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(), create=True)
    os.close(fd)
    assert created == []


def test_a_missing_directory_is_not_made_unless_asked(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_dir(str(tmp_path / 'missing'), Attributes())
    assert not (tmp_path / 'missing').exists()


def test_a_protected_walk_refuses_a_symbolic_link_on_the_way(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    fd, _created = open_dir(str(tmp_path / 'link'), Attributes())
    os.close(fd)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(tmp_path / 'link'), Attributes(), protected=True)
    assert 'a symbolic link appeared on the way' in err.value.msg and 'nothing was written' in err.value.msg


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_a_protected_walk_as_root_refuses_a_directory_others_can_rewrite(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(shared), Attributes(), protected=True)
    assert 'can be changed by users other than root (mode 0777, not sticky)' in err.value.msg


def test_the_io_fd_can_list_the_directory(tmp_path):
    (tmp_path / 'x').write_text('')
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        io_fd = dir_io_fd(fd)
        try:
            assert os.listdir(io_fd) == ['x']
        finally:
            os.close(io_fd)
    finally:
        os.close(fd)


def test_refuse_changed_says_what_changed_and_that_nothing_was_written():
    with pytest.raises(ConfigFileError) as err:
        refuse_changed('/some/dir', 'why it changed')
    assert err.value.msg == ('/some/dir changed while it was being written (why it changed); nothing was written '
                             'there. Run again.')


def test_made_directories_are_0700_whatever_the_umask(tmp_path):
    old = os.umask(0o277)
    try:
        fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(), create=True)
        os.close(fd)
    finally:
        os.umask(old)
    assert created == [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b')]
    assert [stat.S_IMODE(os.stat(p).st_mode) for p in created] == [0o700, 0o700]


def test_an_existing_directory_on_the_way_is_not_reported_nor_changed(tmp_path):
    (tmp_path / 'a').mkdir()
    os.chmod(str(tmp_path / 'a'), 0o755)
    fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(mode=0o600), create=True, protected=True)
    os.close(fd)
    assert created == [str(tmp_path / 'a' / 'b')]
    assert stat.S_IMODE(os.stat(str(tmp_path / 'a')).st_mode) == 0o755


def test_the_walk_gives_an_fd_of_the_directory_itself_not_of_its_parent(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    for protected in (False, True):
        fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(), protected=protected)
        try:
            assert os.path.samestat(os.fstat(fd), os.stat(str(tmp_path / 'a' / 'b'))) and created == []
            assert not os.get_inheritable(fd)
        finally:
            os.close(fd)


def open_fds():
    return set(os.listdir('/proc/self/fd'))


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_a_refused_walk_leaves_no_file_descriptor_open(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    before = open_fds()
    with pytest.raises(ConfigFileError):
        open_dir(str(tmp_path / 'link' / 'x'), Attributes(), create=True, protected=True)
    with pytest.raises(FileNotFoundError):
        open_dir(str(tmp_path / 'missing' / 'x'), Attributes())
    assert open_fds() == before


def test_a_file_on_the_way_is_not_a_directory(tmp_path):
    (tmp_path / 'file').write_text('')
    for protected in (False, True):
        with pytest.raises(NotADirectoryError):
            open_dir(str(tmp_path / 'file' / 'x'), Attributes(), create=True, protected=protected)


def test_a_link_on_the_way_is_followed_unless_protected(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    fd, created = open_dir(str(tmp_path / 'link' / 'sub'), Attributes(), create=True)
    os.close(fd)
    assert created == [str(tmp_path / 'link' / 'sub')] and (tmp_path / 'real' / 'sub').is_dir()
    (tmp_path / 'flink').symlink_to(tmp_path / 'real' / 'nofile')
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(tmp_path / 'flink'), Attributes(), create=True, protected=True)
    assert err.value.msg == f'{tmp_path / "flink"} changed while it was being written (a symbolic link appeared on ' \
                            'the way); nothing was written there. Run again.'


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root')


@needs_root
@pytest.mark.parametrize('owner,group', [(True, False), (False, True), (True, True)])
def test_made_directories_get_the_owner_and_group_asked(tmp_path, owner, group):
    nobody = pwd.getpwnam('nobody')
    attributes = Attributes(owner=nobody.pw_uid if owner else None, group=nobody.pw_gid if group else None)
    fd, created = open_dir(str(tmp_path / 'a' / 'b'), attributes, create=True, protected=True)
    os.close(fd)
    want = (nobody.pw_uid if owner else 0, nobody.pw_gid if group else os.getegid())
    assert [(os.stat(p).st_uid, os.stat(p).st_gid) for p in created] == [want, want]
    assert [stat.S_IMODE(os.stat(p).st_mode) for p in created] == [0o700, 0o700]


@needs_root
@pytest.mark.parametrize('user', ['nobody', 'daemon'])
def test_a_protected_walk_refuses_a_directory_of_a_user_not_named(tmp_path, user):
    nobody = pwd.getpwnam(user)
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    os.chown(str(theirs), nobody.pw_uid, nobody.pw_gid)
    fd, _created = open_dir(str(theirs), Attributes())
    os.close(fd)
    fd, _created = open_dir(str(theirs), Attributes(owner=nobody.pw_uid), protected=True)
    os.close(fd)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(theirs), Attributes(group=nobody.pw_gid), protected=True)
    assert err.value.msg == (f'{theirs} changed while it was being written (it belongs to user {user} (uid '
                             f'{nobody.pw_uid})); nothing was written there. Run again.')


@needs_root
def test_a_protected_walk_refuses_an_entry_a_user_planted_in_a_shared_directory(tmp_path):
    nobody = pwd.getpwnam('nobody')
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    planted = shared / 'planted'
    planted.mkdir()
    os.chown(str(planted), nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(planted), Attributes(), protected=True)
    assert err.value.msg.startswith(f'{planted} belongs to user nobody (uid {nobody.pw_uid}) and sits in {shared}')
    fd, _created = open_dir(str(planted), Attributes(owner=nobody.pw_uid), protected=True)
    os.close(fd)


@needs_root
@pytest.mark.parametrize('mode', [0o1777, 0o755, 0o700])
def test_a_protected_walk_as_root_accepts_a_sticky_or_closed_directory(tmp_path, mode):
    here = tmp_path / 'here'
    here.mkdir()
    os.chmod(str(here), mode)
    fd, _created = open_dir(str(here), Attributes(), protected=True)
    os.close(fd)


@needs_root
@pytest.mark.parametrize('mode', [0o770, 0o707, 0o720, 0o702])
def test_a_protected_walk_as_root_refuses_a_group_or_world_writable_directory(tmp_path, mode):
    here = tmp_path / 'here'
    here.mkdir()
    os.chmod(str(here), mode)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(here), Attributes(), protected=True)
    assert err.value.msg == (f'{here} can be changed by users other than root (mode {mode:04o}, not sticky); refusing '
                             'to write a registry credential below it as root. Tighten its mode, or give user.')
    fd, _created = open_dir(str(here), Attributes())
    os.close(fd)


@needs_root
def test_a_directory_made_that_is_not_ours_is_refused(tmp_path, monkeypatch):
    nobody = pwd.getpwnam('nobody')

    def swapped(parent_fd, name, path):   # another user's directory took the place of the one made
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        os.chown(name, nobody.pw_uid, nobody.pw_gid, dir_fd=parent_fd)
        return os.open(name, dir_walk.DIR_FLAGS, dir_fd=parent_fd), True
    monkeypatch.setattr(dir_walk, '_make_dir', swapped)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(tmp_path / 'a'), Attributes(), create=True)
    assert err.value.msg == (f'{tmp_path / "a"} changed while it was being written (the directory made is not ours); '
                             'nothing was written there. Run again.')


def test_make_dir_reports_a_directory_that_appeared_meanwhile_as_not_made(tmp_path):
    parent = os.open(str(tmp_path), os.O_RDONLY)
    try:
        fd, made = dir_walk._make_dir(parent, 'new', str(tmp_path / 'new'))   # pylint: disable=protected-access
        os.close(fd)
        assert made is True and stat.S_IMODE(os.stat(str(tmp_path / 'new')).st_mode) == 0o700
        fd, made = dir_walk._make_dir(parent, 'new', str(tmp_path / 'new'))   # pylint: disable=protected-access
        assert made is False and os.path.samestat(os.fstat(fd), os.stat(str(tmp_path / 'new')))
        os.close(fd)
        (tmp_path / 'target').mkdir()
        (tmp_path / 'link').symlink_to(tmp_path / 'target')
        with pytest.raises(ConfigFileError) as err:
            dir_walk._make_dir(parent, 'link', str(tmp_path / 'link'))   # pylint: disable=protected-access
        assert err.value.msg == (f'{tmp_path / "link"} changed while it was being written (Not a directory); '
                                 'nothing was written there. Run again.')
    finally:
        os.close(parent)


def test_make_dir_names_a_directory_it_cannot_create(tmp_path):
    (tmp_path / 'file').write_text('')
    parent = os.open(str(tmp_path / 'file'), os.O_RDONLY)   # not a directory: mkdir there fails with ENOTDIR
    try:
        with pytest.raises(ConfigFileError) as err:
            dir_walk._make_dir(parent, 'x', str(tmp_path / 'file' / 'x'))   # pylint: disable=protected-access
    finally:
        os.close(parent)
    assert err.value.msg == f'Cannot create directory {tmp_path / "file" / "x"}: Not a directory.'


def test_the_io_fd_is_a_readable_fd_of_the_same_directory_not_inherited(tmp_path):
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        io_fd = dir_io_fd(fd)
        try:
            assert os.path.samestat(os.fstat(io_fd), os.fstat(fd))
            assert not os.get_inheritable(io_fd)
            os.fsync(io_fd)
        finally:
            os.close(io_fd)
    finally:
        os.close(fd)


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_fsync_dir_ignores_errors_and_closes_what_it_opened(tmp_path, monkeypatch):
    fd, _created = open_dir(str(tmp_path), Attributes())
    try:
        before = open_fds()
        dir_walk.fsync_dir(fd)
        assert open_fds() == before
        synced = []

        def failing(io_fd):
            synced.append(os.fstat(io_fd))
            raise OSError(errno.EIO, 'Input/output error')
        monkeypatch.setattr(os, 'fsync', failing)
        dir_walk.fsync_dir(fd)
        assert open_fds() == before and os.path.samestat(synced[0], os.fstat(fd))
        dir_walk.fsync_dir(-1)     # a directory fd that cannot be opened again: nothing to sync, no error
        assert open_fds() == before
    finally:
        os.close(fd)


def test_attributes_keep_what_was_asked():
    asked = Attributes(owner=1001, group=1002, mode=0o640)
    assert (asked.owner, asked.group, asked.mode) == (1001, 1002, 0o640)
    default = Attributes()
    assert (default.owner, default.group, default.mode) == (None, None, None)


def test_is_link_is_false_for_what_is_gone_or_not_a_link(tmp_path):
    (tmp_path / 'dir').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'dir')
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        found = [dir_walk._is_link(fd, n) for n in ('link', 'dir', 'gone')]   # pylint: disable=protected-access
        assert found == [True, False, False]
    finally:
        os.close(fd)


def test_without_o_path_a_read_only_open_walks_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(dir_walk, 'O_PATH', 0)
    monkeypatch.setattr(dir_walk, 'DIR_FLAGS', os.O_RDONLY | dir_walk.O_DIRECTORY | dir_walk.O_CLOEXEC)
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x').write_text('')
    for protected in (False, True):
        fd, created = open_dir(str(tmp_path / 'a' / 'b'), Attributes(), create=True, protected=protected)
        try:
            io_fd = dir_io_fd(fd)
            try:
                assert os.path.samestat(os.fstat(io_fd), os.stat(str(tmp_path / 'a' / 'b')))
                assert os.listdir(io_fd) == []
            finally:
                os.close(io_fd)
        finally:
            os.close(fd)
        assert created == ([str(tmp_path / 'a' / 'b')] if not protected else [])


def test_a_directory_that_cannot_be_made_is_named(tmp_path, monkeypatch):
    def refused(name, mode=0o777, dir_fd=None):
        raise PermissionError(errno.EACCES, 'Permission denied')
    monkeypatch.setattr(os, 'mkdir', refused)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(tmp_path / 'a' / 'b'), Attributes(), create=True)
    assert err.value.msg == f'Cannot create directory {tmp_path / "a"}: Permission denied.'


def test_the_first_directory_is_checked_against_the_root_directory(tmp_path, monkeypatch):
    real = os.fstat
    root, first = os.stat('/'), os.stat('/' + str(tmp_path).split(os.sep)[1])
    name = '/' + str(tmp_path).split(os.sep)[1]

    def shared_root(fd):   # as if / were world-writable and sticky, and its first entry on the way a user's
        st = real(fd)
        values = list(st)
        if os.path.samestat(st, root):
            values[0] = stat.S_IFDIR | 0o1777
        elif os.path.samestat(st, first):
            values[4] = 65534
        return os.stat_result(values)
    monkeypatch.setattr(os, 'fstat', shared_root)
    with pytest.raises(ConfigFileError) as err:
        open_dir(str(tmp_path), Attributes(), protected=True)
    assert err.value.msg.startswith(f'{name} belongs to ') and 'and sits in /, a directory other users can add to ' \
        '(mode 1777)' in err.value.msg


@needs_root
def test_a_link_swapped_in_for_a_made_directory_does_not_redirect_its_owner(tmp_path, monkeypatch):
    nobody = pwd.getpwnam('nobody')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    real_chmod = os.chmod

    def swapping(path, mode, **kwargs):   # the directory made is replaced by a link between its chmod and chown
        real_chmod(path, mode, **kwargs)
        if path == 'made':
            os.rename('made', 'made.real', src_dir_fd=kwargs['dir_fd'], dst_dir_fd=kwargs['dir_fd'])
            os.symlink(str(elsewhere), 'made', dir_fd=kwargs['dir_fd'])
    monkeypatch.setattr(os, 'chmod', swapping)
    fd, _created = open_dir(str(tmp_path / 'made'), Attributes(owner=nobody.pw_uid), create=True)
    os.close(fd)
    assert os.stat(str(elsewhere)).st_uid == 0 and os.lstat(str(tmp_path / 'made')).st_uid == nobody.pw_uid
