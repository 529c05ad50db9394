# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_target: the files icr_login changes, from its options."""

from __future__ import annotations

import grp
import os
import pwd

import pytest

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._target import Target, build_targets, check_config_path, parse_mode


@pytest.mark.parametrize('value,words', [('relative/config.json', 'absolute'), ('/a/../etc/x', '".."'),
                                         ('/etc/docker/', 'directory'), ('', 'empty')])
def test_config_path_checks(value, words):
    with pytest.raises(InputError) as err:
        check_config_path(value)
    assert err.value.msg.startswith('config_path:') and words in err.value.msg


@pytest.mark.parametrize('value,expected', [('0600', 0o600), ('644', 0o644), (0o640, 0o640)])
def test_parse_mode(value, expected):
    assert parse_mode(value) == expected


@pytest.mark.parametrize('value', ['rw', '0400', '99999'])
def test_parse_mode_rejects(value):
    with pytest.raises(InputError):
        parse_mode(value)


@pytest.mark.parametrize('value', ['u=rw,go=', 'u+rw', 'go-rwx', 'a=r'])
def test_a_quoted_symbolic_mode_is_named_as_such(value):
    """A symbolic mode is already quoted: the message must not tell the user to quote it."""
    with pytest.raises(InputError) as err:
        parse_mode(value)
    assert 'symbolic mode' in err.value.msg and 'octal' in err.value.msg and 'quote' not in err.value.msg


def test_build_targets_from_options(tmp_path, monkeypatch):
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'dc'))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'auth.json'))
    docker, containers = build_targets({'format': 'both', 'mode': '0640', 'owner': str(os.geteuid())})
    assert (docker.path, docker.format) == (str(tmp_path / 'dc' / 'config.json'), 'docker')
    assert (containers.path, containers.format) == (str(tmp_path / 'auth.json'), 'containers')
    assert docker.mode == 0o640 and docker.owner == os.geteuid() and docker.group is None
    assert docker.account is None and not docker.protected      # the store decides whom to act as
    only, = build_targets({'config_path': str(tmp_path / 'x.json')})
    assert (only.path, only.format, only.mode) == (str(tmp_path / 'x.json'), 'docker', None)


def test_build_targets_for_a_user_ignores_the_environment(monkeypatch):
    monkeypatch.setenv('DOCKER_CONFIG', '/nowhere')
    account = pwd.getpwuid(os.geteuid())
    only, = build_targets({'user': account.pw_name})
    assert only.path == os.path.join(account.pw_dir, '.docker', 'config.json') and only.account == account
    with pytest.raises(InputError) as err:
        build_targets({'user': 'no-such-user-icr-auth'})
    assert "no user 'no-such-user-icr-auth'" in err.value.msg


def test_the_acting_target_is_protected_and_keeps_the_attributes():
    target = Target('/a/config.json', 'containers', owner=5, group=6, mode=0o640)
    acting = target.acting('/b/config.json', None)
    assert (acting.path, acting.format, acting.account, acting.protected) == ('/b/config.json', 'containers', None, True)
    assert (acting.owner, acting.group, acting.mode) == (5, 6, 0o640) and not target.protected


def test_the_acting_target_acts_as_the_controller():
    controller = pwd.getpwuid(os.geteuid())
    acting = Target('/a/config.json', 'docker').acting('/b/config.json', controller)
    assert acting.account == controller and acting.protected


def test_a_nul_byte_in_the_path_is_refused():
    with pytest.raises(InputError) as err:
        check_config_path('/etc/x\x00y.json')
    assert err.value.msg == 'config_path: the path contains a NUL byte.'
    with pytest.raises(InputError) as err:
        check_config_path('/etc/x\x00y.json', 'authfile')
    assert err.value.msg == 'authfile: the path contains a NUL byte.'


def test_format_both_with_one_config_path_is_refused(tmp_path):
    with pytest.raises(InputError) as err:
        build_targets({'format': 'both', 'config_path': str(tmp_path / 'x.json')})
    assert err.value.msg == ('config_path names one file, but format: both writes two; use format docker or containers '
                             'with config_path, or give user instead.')


def test_the_group_is_given_to_every_target(tmp_path, monkeypatch):
    monkeypatch.setenv('DOCKER_CONFIG', str(tmp_path / 'dc'))
    monkeypatch.setenv('REGISTRY_AUTH_FILE', str(tmp_path / 'auth.json'))
    gid = os.getegid()
    targets = build_targets({'format': 'both', 'group': str(gid)})
    assert [(t.format, t.group, t.owner, t.mode) for t in targets] == [('docker', gid, None, None),
                                                                       ('containers', gid, None, None)]
    only, = build_targets({'config_path': str(tmp_path / 'x.json'), 'group': grp.getgrgid(gid).gr_name})
    assert only.group == gid


@pytest.mark.parametrize('value,expected', [
    ('0601', 0o601), ('7777', 0o7777), (' 0600 ', 0o600), ('600', 0o600),
    (420, 0o644), (421, 0o645), (0o601, 0o601), (0o7777, 0o7777),
])
def test_modes_that_let_the_owner_read_and_write_are_taken(value, expected):
    assert parse_mode(value) == expected


def test_no_mode_keeps_the_file_s_own():
    assert parse_mode(None) is None


@pytest.mark.parametrize('value', [100, 644, 640, 7777, 700])
def test_a_decimal_number_that_looks_octal_is_refused_with_how_to_quote_it(value):
    with pytest.raises(InputError) as err:
        parse_mode(value)
    assert err.value.msg == (f"mode: {value} was given as a number, which YAML reads as decimal; quote it, for example "
                             f"mode: '0{value}'.")


@pytest.mark.parametrize('value,msg', [
    ('rw', "mode: 'rw' is not an octal mode; give one such as mode: '0600'."),
    ('0600x', "mode: '0600x' is not an octal mode; give one such as mode: '0600'."),
    ('a+X', "mode: 'a+X' is a symbolic mode; give the file's mode in octal, for example mode: '0600'."),
    ('u=rwX,go=rX', "mode: 'u=rwX,go=rX' is a symbolic mode; give the file's mode in octal, for example mode: '0600'."),
    ('10000', "mode: '10000' is out of range; give an octal mode such as 0600."),
    ('-600', "mode: '-600' is out of range; give an octal mode such as 0600."),
    (-1, "mode: -1 is out of range; give an octal mode such as 0600."),
    (9999, "mode: 9999 is out of range; give an octal mode such as 0600."),
    (0o10600, "mode: 4480 is out of range; give an octal mode such as 0600."),
    ('0', "mode: '0' would keep the owner from reading or writing the file; give 0600 or wider."),
    ('0400', "mode: '0400' would keep the owner from reading or writing the file; give 0600 or wider."),
    ('0200', "mode: '0200' would keep the owner from reading or writing the file; give 0600 or wider."),
    (0, "mode: 0 would keep the owner from reading or writing the file; give 0600 or wider."),
])
def test_bad_modes_are_refused_with_the_cause(value, msg):
    with pytest.raises(InputError) as err:
        parse_mode(value)
    assert err.value.msg == msg
