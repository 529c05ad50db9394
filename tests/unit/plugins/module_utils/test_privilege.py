# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_privilege: user lookups, acting as another user, secure_resolve and locate."""

from __future__ import annotations

import os
import pathlib
import pwd
import shutil
import tempfile

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils import _privilege as privilege
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError
from ansible_collections.icr.auth.plugins.module_utils._target import Target
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


@pytest.fixture
def request_cleanup():
    paths = []
    yield paths
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def present(hosts=('us.icr.io', 'de.icr.io')):
    return lambda data: auth_file.plan_present(data, list(hosts), 'iamapikey', API_KEY)


@pytest.mark.skipif(os.geteuid() != 0, reason='acting as another user needs root')
def test_root_acts_as_the_user_in_their_home(tmp_path, request_cleanup):
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-'))
    os.chmod(str(tmp_path), 0o755)
    request_cleanup.append(str(tmp_path))
    nobody = pwd.getpwnam('nobody')
    home = tmp_path / 'home'
    home.mkdir()
    os.chown(str(home), nobody.pw_uid, nobody.pw_gid)
    os.chmod(str(tmp_path), 0o755)
    path = home / '.docker' / 'config.json'
    store.update(Target(str(path), 'docker', account=nobody), present())
    for p in (path, path.parent):
        st = os.stat(str(p))
        assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert os.geteuid() == 0 and os.getegid() == 0
    # A link planted by the user to a root-only file does not make root write it.
    secret = tmp_path / 'root-only'
    secret.write_text('root data')
    os.chmod(str(secret), 0o600)
    os.chmod(str(tmp_path), 0o700)
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(ConfigFileError) as err:
        store.update(Target(str(path), 'docker', account=nobody), present())
    assert 'permission denied' in err.value.msg.lower()
    assert secret.read_text() == 'root data' and os.stat(str(secret)).st_uid == 0


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_secure_resolve_sees_the_user_behind_roots_symlink_and_refuses_shared_dirs(request_cleanup):
    nobody = pwd.getpwnam('nobody')
    top = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-'))
    request_cleanup.append(str(top))
    os.chmod(str(top), 0o755)
    users = top / 'users'
    users.mkdir()
    os.chown(str(users), nobody.pw_uid, nobody.pw_gid)
    (top / 'link').symlink_to(users)
    controller, path = privilege.secure_resolve(str(top / 'link' / 'config.json'))
    assert controller.pw_uid == nobody.pw_uid and path == str(users / 'config.json')
    assert privilege.secure_resolve(str(top / 'new' / 'sub' / 'config.json')) == (None, str(top / 'new' / 'sub' / 'config.json'))
    shared = top / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(str(shared / 'config.json'))
    assert 'can be changed by users other than root' in err.value.msg
    os.chmod(str(shared), 0o1777)
    assert privilege.secure_resolve(str(shared / 'config.json')) == (None, str(shared / 'config.json'))


def test_an_owner_uid_without_a_user_is_refused():
    free = 99999
    while True:
        try:
            pwd.getpwuid(free)
            free += 1
        except KeyError:
            break
    with pytest.raises(InputError) as err:
        privilege.lookup_uid(str(free))
    assert 'password database' in err.value.msg
    assert privilege.lookup_uid(str(os.getuid())) == os.getuid()


def test_lookups_of_names_and_numbers():
    me = pwd.getpwuid(os.geteuid())
    assert privilege.lookup_user(me.pw_name) == me and privilege.lookup_user(str(me.pw_uid)) == me
    assert privilege.lookup_uid(None) is None and privilege.lookup_uid(me.pw_name) == me.pw_uid
    assert privilege.lookup_gid(None) is None and privilege.lookup_gid('12345') == 12345
    with pytest.raises(InputError) as err:
        privilege.lookup_gid('no-such-group-icr-auth')
    assert err.value.msg == "group: no group 'no-such-group-icr-auth' on this host."
    assert me.pw_gid in privilege.user_groups(me)


def test_identity_changes_nothing_for_the_caller_itself():
    me = pwd.getpwuid(os.geteuid())
    assert not privilege.acts_as(None) and not privilege.acts_as(me if me.pw_uid == 0 else None)
    with privilege.identity(me):
        assert os.geteuid() == me.pw_uid


@pytest.mark.skipif(os.geteuid() != 0, reason='acting as another user needs root')
def test_identity_acts_as_the_user_and_comes_back():
    nobody = pwd.getpwnam('nobody')
    groups = os.getgroups()
    assert privilege.acts_as(nobody)
    with privilege.identity(nobody):
        assert (os.geteuid(), os.getegid()) == (nobody.pw_uid, nobody.pw_gid)
    assert (os.geteuid(), os.getegid(), os.getgroups()) == (0, 0, groups)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root')
def test_locate_protects_root_acting_as_itself_and_not_a_named_user(tmp_path):
    path = str(tmp_path / 'config.json')
    assert privilege.locate(path, None, None) == (None, path, True)
    nobody = pwd.getpwnam('nobody')
    assert privilege.locate('/nonexistent-icr-auth/config.json', nobody, None) == (nobody, '/nonexistent-icr-auth/config.json', False)
