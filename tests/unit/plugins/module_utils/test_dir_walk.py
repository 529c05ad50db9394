# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_dir_walk: directories walked from / by file descriptor."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes, dir_io_fd, open_dir
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
