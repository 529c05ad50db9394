# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_auth_file: the auth-file format as pure values (paths, parse, plans, serialize)."""

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError


@pytest.mark.parametrize('fmt,env,expected', [
    ('docker', {}, '/home/u/.docker/config.json'),
    ('docker', {'DOCKER_CONFIG': '/etc/dc'}, '/etc/dc/config.json'),
    ('containers', {}, '/home/u/.config/containers/auth.json'),
    ('containers', {'XDG_CONFIG_HOME': '/x'}, '/x/containers/auth.json'),
    ('containers', {'REGISTRY_AUTH_FILE': '/r/auth.json'}, '/r/auth.json'),
])
def test_default_paths(fmt, env, expected):
    account = pwd.struct_passwd(('u', 'x', 1000, 1000, '', '/home/u', '/bin/sh'))
    assert auth_file.default_path(fmt, account, env=env) == expected


def test_environment_is_ignored_for_another_users_home():
    account = pwd.struct_passwd(('u', 'x', 1000, 1000, '', '/home/u', '/bin/sh'))
    assert auth_file.default_path('docker', account, env={'DOCKER_CONFIG': '/root/.d'}, use_env=False) == '/home/u/.docker/config.json'


def test_relative_environment_paths_mean_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    account = pwd.getpwuid(os.getuid())
    assert auth_file.default_path('containers', account, {'REGISTRY_AUTH_FILE': 'a/auth.json'}) == str(tmp_path / 'a' / 'auth.json')
    assert auth_file.default_path('docker', account, {'DOCKER_CONFIG': 'd'}) == str(tmp_path / 'd' / 'config.json')
    assert auth_file.default_path('containers', account, {'XDG_CONFIG_HOME': 'x'}) == str(tmp_path / 'x' / 'containers' / 'auth.json')


def test_too_many_values_are_refused_before_parsing():
    raw = ('{"x": [%s]}' % ','.join(['{}'] * (auth_file.MAX_JSON_VALUES + 1))).encode()
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(raw, 'f.json')
    assert 'JSON values' in err.value.msg
    # Braces and commas inside strings do not count.
    assert auth_file.parse(('{"x": "%s"}' % ('{,[' * 400000)).encode(), 'f.json')['x'].startswith('{,[')


def test_serialize_is_compact_when_indenting_would_pass_the_limit(monkeypatch):
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', 1000)
    data = {'pad': [0] * 300}
    assert len(auth_file.serialize(data)) <= 1000 and b'\t' not in auth_file.serialize(data)
    assert auth_file.serialize({'a': 1}).startswith(b'{\n\t')


@pytest.mark.parametrize('raw,words', [(b'\xff', 'not UTF-8'), (b'[1]', 'JSON array'), (b'{"auths": []}', '"auths" is a JSON array'),
                                       (b'{"x": ', 'not valid JSON'), (b'[' * 100000, 'nested too deeply')])
def test_parse_refuses_what_is_not_an_auth_file(raw, words):
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(raw, 'f.json')
    assert err.value.msg.startswith('f.json') and words in err.value.msg and 'left unchanged' in err.value.msg


def test_parse_drops_a_byte_order_mark_and_reads_blank_as_empty():
    assert auth_file.parse(b'\xef\xbb\xbf{"a": 1}', 'f.json') == {'a': 1}
    assert auth_file.parse(b'  \n', 'f.json') == {}


def test_plans_are_pure_and_keep_what_they_do_not_own():
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', 'old'), 'email': 'x'}}, 'other': 1}
    new, actions = auth_file.plan_present(data, ['us.icr.io', 'de.icr.io'], 'iamapikey', 'new')
    assert actions == {'us.icr.io': 'updated', 'de.icr.io': 'added'}
    assert new['other'] == 1 and new['auths']['us.icr.io']['email'] == 'x'
    assert decode_auth(new['auths']['de.icr.io']['auth']) == ('iamapikey', 'new')
    assert data['auths']['us.icr.io']['auth'] == encode_auth('iamapikey', 'old')     # the input is not changed
    same, actions = auth_file.plan_present(new, ['us.icr.io'], 'iamapikey', 'new')
    assert same == new and actions == {'us.icr.io': 'unchanged'}
    gone, actions = auth_file.plan_absent(new, ['us.icr.io', 'jp.icr.io'])
    assert actions == {'us.icr.io': 'removed', 'jp.icr.io': 'unchanged'} and sorted(gone['auths']) == ['de.icr.io']
    assert auth_file.plan_absent({'x': 1}, ['us.icr.io']) == ({'x': 1}, {'us.icr.io': 'unchanged'})
    with pytest.raises(ConfigFileError) as err:
        auth_file.plan_present({'auths': {'us.icr.io': []}}, ['us.icr.io'], 'iamapikey', 'k')
    assert 'is a JSON array, not an object' in err.value.msg


def test_plan_helpers_empties_helper_held_entries_and_names_a_chosen_helper():
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', 'k'), 'email': 'x'}}, 'credsStore': 'desktop'}
    new = auth_file.plan_helpers(data, {'us.icr.io': 'pass'}, 'docker', True)
    assert new['auths'] == {'us.icr.io': {'email': 'x'}} and new['credHelpers'] == {'us.icr.io': 'pass'}
    assert auth_file.plan_helpers(data, {'us.icr.io': 'desktop'}, 'docker', True).get('credHelpers') is None
    assert auth_file.plan_helpers(data, {'us.icr.io': 'desktop'}, 'containers', False) == data
    assert auth_file.plan_helpers(data, {}, 'docker', True) is data


def test_helper_for_and_stored_credential_read_the_file_as_docker_does():
    data = {'credHelpers': {'us.icr.io': 'pass'}, 'credsStore': 'desktop'}
    assert auth_file.helper_for(data, 'us.icr.io') == 'pass' and auth_file.helper_for(data, 'de.icr.io') == 'desktop'
    assert auth_file.helper_for({}, 'de.icr.io') is None
    assert auth_file.stored_credential({'identitytoken': 't'}) == ('<identitytoken>', 't')
    assert auth_file.stored_credential({'username': 'u', 'password': 'p'}) == ('u', 'p')
    assert auth_file.stored_credential({'email': 'x'}) is None and auth_file.stored_credential('x') is None
    assert auth_file.summary({'auths': {'us.icr.io': {'username': 'u', 'password': 'p'}}}, ['us.icr.io', 'de.icr.io']) == {
        'us.icr.io': ('u', 'p'), 'de.icr.io': None}


def test_plan_helper_method_names_the_helper_and_leaves_no_credential_of_its_hosts():
    data = {'auths': {'us.icr.io': {'auth': 'eDp5'}, 'other.example': {'auth': 'eDp6'}},
            'credHelpers': {'de.icr.io': 'pass'}, 'credsStore': 'desktop'}
    new, actions = auth_file.plan_helper_method(data, ['us.icr.io', 'de.icr.io', 'icr.io'], 'icr')
    assert new['auths'] == {'other.example': {'auth': 'eDp6'}}
    assert new['credHelpers'] == {'us.icr.io': 'icr', 'de.icr.io': 'icr', 'icr.io': 'icr'}
    assert new['credsStore'] == 'desktop' and data['credHelpers'] == {'de.icr.io': 'pass'}  # input not changed
    assert actions == {'us.icr.io': 'updated', 'de.icr.io': 'updated', 'icr.io': 'added'}
    again, actions = auth_file.plan_helper_method(new, ['us.icr.io', 'de.icr.io', 'icr.io'], 'icr')
    assert again == new and set(actions.values()) == {'unchanged'}
    # An empty auths entry Docker keeps for a helper-held host goes too.
    _new, actions = auth_file.plan_helper_method({'auths': {'us.icr.io': {}}, 'credHelpers': {'us.icr.io': 'icr'}},
                                                 ['us.icr.io'], 'icr')
    assert actions == {'us.icr.io': 'updated'} and _new['auths'] == {}
    assert 'auths' not in auth_file.plan_helper_method({}, ['us.icr.io'], 'icr')[0]


def test_drop_helper_removes_only_that_helpers_entries_of_the_hosts():
    data = {'credHelpers': {'us.icr.io': 'icr', 'de.icr.io': 'pass', 'icr.io': 'icr'}, 'credsStore': 'icr'}
    new, dropped = auth_file.drop_helper(data, ['us.icr.io', 'de.icr.io'], 'icr')
    assert dropped == ['us.icr.io'] and new['credHelpers'] == {'de.icr.io': 'pass', 'icr.io': 'icr'}
    assert new['credsStore'] == 'icr'  # credsStore is never the plan's to change
    new, dropped = auth_file.drop_helper({'credHelpers': {'us.icr.io': 'icr'}, 'auths': {}}, ['us.icr.io'], 'icr')
    assert new == {'auths': {}} and dropped == ['us.icr.io']
    assert auth_file.drop_helper(data, ['jp.icr.io'], 'icr') == (data, [])


# ------------------------------------------------------------------ namespace-scoped keys

@pytest.mark.parametrize('formats,method,store,words', [
    (['docker'], 'file', 'auto', "Docker's config.json matches credentials by registry host only"),
    (['docker', 'containers'], 'file', 'auto', "Docker's config.json matches credentials by registry host only"),
    (['containers'], 'helper', 'auto', 'credHelpers entries are per registry host'),
    (['containers'], 'file', 'pass', 'credential_store: us.icr.io/web is scoped to a namespace'),
])
def test_scoped_keys_are_refused_where_no_client_would_read_them(formats, method, store, words):
    from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
    with pytest.raises(InputError) as err:
        auth_file.check_scoped(['us.icr.io', 'us.icr.io/web'], formats, method, store)
    assert words in err.value.msg


def test_scoped_keys_pass_in_the_containers_file_and_a_host_helper_shadows_them():
    auth_file.check_scoped(['us.icr.io/web'], ['containers'], 'file', 'auto')
    auth_file.check_scoped(['us.icr.io'], ['docker'], 'helper', 'pass')  # nothing scoped: nothing to say
    data = {'credHelpers': {'us.icr.io': 'icr'}}
    assert auth_file.shadowed_scopes(data, ['us.icr.io/web', 'de.icr.io/web', 'us.icr.io']) == ['us.icr.io/web']
