# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_privilege: user lookups, acting as another user, secure_resolve and locate."""

from __future__ import annotations

import errno
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


# ------------------------------------------------------------------ exact messages and the walk, step by step

def free_uid():
    uid = 99999
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def stat_of(mode, uid=0):
    """An os.stat_result with a mode and an owner (the rest zero)."""
    return os.stat_result((mode, 0, 0, 1, uid, 0, 0, 0, 0, 0))


@pytest.fixture
def top(request_cleanup):
    """A root-owned 0755 directory in /tmp, removed at the end."""
    path = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-'))
    request_cleanup.append(str(path))
    os.chmod(str(path), 0o755)
    return path


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root')


def test_unknown_users_and_owners_are_refused_word_for_word():
    free = free_uid()
    for user, shown in (('no-such-user-icr-auth', "'no-such-user-icr-auth'"), (str(free), repr(str(free))),
                        (free, str(free))):
        with pytest.raises(InputError) as err:
            privilege.lookup_user(user)
        assert err.value.msg == f'user: no user {shown} in the password database of this host.'
    with pytest.raises(InputError) as err:
        privilege.lookup_uid(free)
    assert err.value.msg == (f'owner: uid {free} has no entry in the password database of this host; give an existing '
                             'user.')
    with pytest.raises(InputError) as err:
        privilege.lookup_uid('no-such-user-icr-auth')
    assert err.value.msg == "owner: no user 'no-such-user-icr-auth' in the password database of this host."


def test_a_directory_is_shared_when_sticky_group_or_world_writable():
    assert privilege._shared(stat_of(0o41777)) and privilege._shared(stat_of(0o41700))
    assert privilege._shared(stat_of(0o40770)) and privilege._shared(stat_of(0o40702))
    assert not privilege._shared(stat_of(0o40755)) and not privilege._shared(stat_of(0o40700))


def test_an_entry_of_an_unnamed_user_in_a_shared_directory_is_refused_word_for_word():
    free = free_uid()
    nobody = pwd.getpwnam('nobody')
    with pytest.raises(ConfigFileError) as err:
        privilege.check_entry(stat_of(0o41777), stat_of(0o40700, free), '/tmp/x/.docker', ())
    assert err.value.msg == (f'/tmp/x/.docker belongs to uid {free} and sits in /tmp/x, a directory other users can '
                             'add to (mode 1777); root refuses to write a registry credential there on behalf of a '
                             'user the play did not name. Remove it, choose another path, or name that user with user: '
                             'or owner:.')
    with pytest.raises(ConfigFileError) as err:
        privilege.check_entry(stat_of(0o40770), stat_of(0o100600, nobody.pw_uid), '/srv/config.json', ())
    assert err.value.msg.startswith(f'/srv/config.json belongs to user nobody (uid {nobody.pw_uid}) and sits in /srv, '
                                    'a directory other users can add to (mode 0770);')


def test_an_entry_is_accepted_from_root_the_directory_s_owner_or_a_named_user_or_in_a_private_directory():
    privilege.check_entry(stat_of(0o41777, 1234), stat_of(0o40700, 0), '/s/x', ())
    privilege.check_entry(stat_of(0o41777, 1234), stat_of(0o40700, 1234), '/s/x', ())
    privilege.check_entry(stat_of(0o41777, 0), stat_of(0o40700, 1234), '/s/x', {1234})
    privilege.check_entry(stat_of(0o40755, 0), stat_of(0o40700, 1234), '/s/x', ())
    privilege.check_entry(None, stat_of(0o40700, 1234), '/s/x', ())
    with pytest.raises(ConfigFileError):
        privilege.check_entry(stat_of(0o41777, 0), stat_of(0o40700, 1), '/s/x', {1234})


def test_a_root_owned_directory_others_can_rewrite_is_named_word_for_word():
    assert privilege.others_can_change('/srv/x', stat_of(0o40775)).msg == (
        '/srv/x can be changed by users other than root (mode 0775, not sticky); refusing to write a registry '
        'credential below it as root. Tighten its mode, or give user.')


def test_name_of_says_who_a_uid_is():
    assert privilege.name_of(0) == 'user root (uid 0)' and privilege.name_of(free_uid()) == f'uid {free_uid()}'


def test_resolve_link_follows_a_link_only(tmp_path):
    (tmp_path / 'real.json').write_text('{}')
    (tmp_path / 'link.json').symlink_to('real.json')
    assert privilege.resolve_link(str(tmp_path / 'link.json')) == str(tmp_path / 'real.json')
    odd = str(tmp_path / 'sub' / '..' / 'real.json')
    assert privilege.resolve_link(odd) == odd


def test_a_link_that_changes_while_it_is_resolved_is_named(tmp_path, monkeypatch):
    (tmp_path / 'link.json').symlink_to('real.json')

    def gone(path, *args, **kwargs):
        raise OSError(errno.ENOENT, 'No such file or directory')
    monkeypatch.setattr(os.path, 'realpath', gone)
    with pytest.raises(ConfigFileError) as err:
        privilege._resolve_as_caller(str(tmp_path / 'link.json'))
    monkeypatch.undo()
    assert err.value.msg == (f'{tmp_path / "link.json"} changed while it was being resolved (No such file or '
                             'directory); nothing was written. Run again.')


def test_a_caller_that_is_not_root_resolves_with_its_own_rights_unprotected(tmp_path, monkeypatch):
    (tmp_path / 'real.json').write_text('{}')
    (tmp_path / 'link.json').symlink_to('real.json')
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    found = privilege.locate(str(tmp_path / 'link.json'), None, None)
    monkeypatch.undo()
    assert found == (None, str(tmp_path / 'real.json'), False)


def test_a_component_that_cannot_be_inspected_is_named(tmp_path):
    long_name = str(tmp_path / ('x' * 300))
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(long_name + '/config.json')
    assert err.value.msg == f'Cannot inspect {long_name}: File name too long.'


def test_dot_and_dot_dot_are_walked_as_the_kernel_does(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    target = str(tmp_path / 'b' / 'config.json')
    owner = privilege.secure_resolve(str(tmp_path))[0]  # None when root runs the tests
    assert privilege.secure_resolve(f'{tmp_path}/./b/./config.json') == (owner, target)
    assert privilege.secure_resolve(f'{tmp_path}/a/../b/config.json') == (owner, target)
    assert privilege.secure_resolve(f'{tmp_path}/a/../../{tmp_path.name}/b/config.json') == (owner, target)


def chain(tmp_path, count):
    """link0 -> link1 -> ... -> link<count-1> -> real.json: count links; returns the path of link0."""
    (tmp_path / 'real.json').write_text('{}')
    for number in range(count):
        target = f'link{number + 1}' if number + 1 < count else 'real.json'
        (tmp_path / f'link{number}').symlink_to(target)
    return str(tmp_path / 'link0')


def test_sixteen_links_are_followed_and_a_seventeenth_is_refused(tmp_path):
    owner = privilege.secure_resolve(str(tmp_path))[0]  # None when root runs the tests
    assert privilege.secure_resolve(chain(tmp_path, 16)) == (owner, str(tmp_path / 'real.json'))
    for name in os.listdir(str(tmp_path)):
        os.unlink(str(tmp_path / name))
    path = chain(tmp_path, 17)
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(path)
    assert err.value.msg == f'{path}: too many levels of symbolic links.'


def test_a_link_that_goes_away_while_it_is_resolved_is_named(tmp_path, monkeypatch):
    (tmp_path / 'link').symlink_to('real')

    def gone(path, *args, **kwargs):
        raise OSError(errno.ENOENT, 'No such file or directory')
    monkeypatch.setattr(os, 'readlink', gone)
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(str(tmp_path / 'link' / 'config.json'))
    monkeypatch.undo()
    assert err.value.msg == (f'{tmp_path / "link"} changed while it was being resolved (No such file or directory); '
                             'nothing was written. Run again.')


@needs_root
def test_a_directory_without_a_user_is_refused_word_for_word(top):
    free = free_uid()
    (top / 'orphan').mkdir()
    os.chown(str(top / 'orphan'), free, free)
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(str(top / 'orphan' / 'config.json'))
    assert err.value.msg == (f'{top / "orphan"} belongs to uid {free}, which has no entry in the password database; '
                             'refusing to write below it as root.')


@needs_root
def test_a_root_directory_others_can_rewrite_is_refused_on_the_walk(top):
    (top / 'open').mkdir()
    os.chmod(str(top / 'open'), 0o777)
    with pytest.raises(ConfigFileError) as err:
        privilege.secure_resolve(str(top / 'open' / 'config.json'))
    assert err.value.msg == (f'{top / "open"} can be changed by users other than root (mode 0777, not sticky); '
                             'refusing to write a registry credential below it as root. Tighten its mode, or give '
                             'user.')


@needs_root
def test_the_final_file_s_owner_never_controls_but_a_final_directory_s_owner_does(top):
    daemon = pwd.getpwnam('daemon')
    (top / 'config.json').write_text('{}')
    os.chown(str(top / 'config.json'), daemon.pw_uid, daemon.pw_gid)
    assert privilege.secure_resolve(str(top / 'config.json')) == (None, str(top / 'config.json'))
    (top / 'dir').mkdir()
    os.chown(str(top / 'dir'), daemon.pw_uid, daemon.pw_gid)
    assert privilege.secure_resolve(str(top / 'dir')) == (daemon, str(top / 'dir'))


@needs_root
def test_a_link_is_walked_component_by_component(top):
    daemon = pwd.getpwnam('daemon')
    (top / 'user').mkdir()
    os.chown(str(top / 'user'), daemon.pw_uid, daemon.pw_gid)
    (top / 'user' / 'sub').mkdir()
    (top / 'link').symlink_to(top / 'user' / 'sub')
    expected = (daemon, str(top / 'user' / 'sub' / 'config.json'))
    assert privilege.secure_resolve(str(top / 'link' / 'config.json')) == expected


def daemons_dir_in_a_shared_one(top):
    """top/shared (mode 1777) holding x, a directory of the user daemon; returns (daemon, top/shared)."""
    daemon = pwd.getpwnam('daemon')
    shared = top / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    (shared / 'x').mkdir()
    os.chown(str(shared / 'x'), daemon.pw_uid, daemon.pw_gid)
    return daemon, shared


@needs_root
def test_an_entry_met_after_a_link_is_checked_against_its_directory(top):
    daemon, shared = daemons_dir_in_a_shared_one(top)
    (shared / 'link').symlink_to('x')
    for path in (shared / 'x' / 'config.json', shared / 'link' / 'config.json'):
        with pytest.raises(ConfigFileError) as err:
            privilege.secure_resolve(str(path))
        assert err.value.msg.startswith(f'{shared / "x"} belongs to user daemon (uid {daemon.pw_uid}) and sits in '
                                        f'{shared}, a directory other users can add to (mode 1777);')
    assert privilege.secure_resolve(str(shared / 'link' / 'config.json'), {daemon.pw_uid}) == (
        daemon, str(shared / 'x' / 'config.json'))


@needs_root
def test_locate_passes_the_named_owner_to_the_walk(top):
    daemon, shared = daemons_dir_in_a_shared_one(top)
    path = str(shared / 'x' / 'config.json')
    with pytest.raises(ConfigFileError):
        privilege.locate(path, None, None)
    with pytest.raises(ConfigFileError):
        privilege.locate(path, None, 1234)
    assert privilege.locate(path, None, daemon.pw_uid) == (daemon, path, True)


@needs_root
def test_locate_protects_root_named_as_user_and_acts_as_any_other_user(top):
    root = pwd.getpwuid(0)
    daemon = pwd.getpwnam('daemon')
    path = str(top / 'config.json')
    assert privilege.locate(path, root, None) == (None, path, True)
    assert privilege.locate(path, daemon, None) == (daemon, path, False)


@needs_root
def test_locate_resolves_a_users_path_with_the_users_rights(top):
    nobody = pwd.getpwnam('nobody')
    private = top / 'private'
    private.mkdir()
    os.chmod(str(private), 0o700)
    (top / 'elsewhere').mkdir()
    (private / 'inner').symlink_to(top / 'elsewhere' / 'config.json')
    (top / 'link').symlink_to(private / 'inner')
    # nobody cannot look into private/, so for nobody the link leads to private/inner, not further.
    assert privilege.locate(str(top / 'link'), nobody, None) == (nobody, str(private / 'inner'), False)
    assert privilege.resolve_link(str(top / 'link')) == str(top / 'elsewhere' / 'config.json')
