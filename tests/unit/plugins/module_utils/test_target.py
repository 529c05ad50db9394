# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_target: the files icr_login changes, from its options."""

from __future__ import annotations

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
