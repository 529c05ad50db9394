# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_auth_file: the auth-file format as pure values (paths, parse, plans, serialize)."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

NOW = 10000


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


# ------------------------------------------------------------------ exact figures, messages and plans

def test_the_environment_of_the_process_is_read_when_none_is_given(monkeypatch):
    account = pwd.struct_passwd(('u', 'x', 1000, 1000, '', '/home/u', '/bin/sh'))
    monkeypatch.setenv('DOCKER_CONFIG', '/etc/dc')
    assert auth_file.default_path('docker', account) == '/etc/dc/config.json'
    assert auth_file.default_path('docker', account, use_env=False) == '/home/u/.docker/config.json'


def test_no_variable_of_the_environment_is_read_for_another_users_containers_file():
    account = pwd.struct_passwd(('u', 'x', 1000, 1000, '', '/home/u', '/bin/sh'))
    env = {'REGISTRY_AUTH_FILE': '/r/auth.json', 'XDG_CONFIG_HOME': '/x'}
    assert auth_file.default_path('containers', account, env=env,
                                  use_env=False) == '/home/u/.config/containers/auth.json'
    assert auth_file.default_path('containers', account, env={'XDG_CONFIG_HOME': '/x'},
                                  use_env=False) == '/home/u/.config/containers/auth.json'


@pytest.mark.parametrize('text,count', [
    ('{}', 2), ('[]', 2), ('1', 1), ('{"a": [1, 2], "b": {"c": null}}', 6),
    ('{"a": "x,{[", "b\\"{": "]}"}', 3), ('[[[', 4), ('[1,2,3]', 4), ('{"a":1,"b":2}', 3),
])
def test_values_are_counted_by_brackets_and_commas_outside_strings(text, count):
    assert auth_file._count_values(text) == count


def test_the_most_json_values_a_file_may_hold_are_read(monkeypatch):
    monkeypatch.setattr(auth_file, 'MAX_JSON_VALUES', 5)
    assert auth_file.parse(b'{"a": [1, 2, 3]}', 'f.json') == {'a': [1, 2, 3]}
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(b'{"a": [1, 2, 3, 4]}', 'f.json')
    assert err.value.msg == ('f.json holds more than 5 JSON values, more than a registry auth file can sensibly '
                             'hold; it was left unchanged.')


def test_invalid_json_is_named_with_the_parser_s_reason():
    with pytest.raises(ValueError) as parsed:
        json.loads('{"x": ')
    reason = str(parsed.value)
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(b'{"x": ', 'f.json')
    assert err.value.msg == (f'f.json is not valid JSON ({reason}); it was left unchanged. Fix or remove the file, '
                             'then run again.')


@pytest.mark.parametrize('raw,kind', [(b'[1]', 'array'), (b'"x"', 'string'), (b'true', 'boolean'),
                                      (b'false', 'boolean'), (b'1', 'number'), (b'1.5', 'number'), (b'null', 'null')])
def test_a_file_that_is_not_an_object_is_named_with_its_json_type(raw, kind):
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(raw, 'f.json')
    assert err.value.msg == (f'f.json holds a JSON {kind}, but a registry auth file must be a JSON object; it was left '
                             'unchanged.')


@pytest.mark.parametrize('key,value,kind,expected', [
    ('auths', '[]', 'array', 'object'), ('auths', '"x"', 'string', 'object'),
    ('credHelpers', '[]', 'array', 'object'), ('credHelpers', '1', 'number', 'object'),
    ('credsStore', '{}', 'object', 'string'), ('credsStore', 'true', 'boolean', 'string'),
    ('credsStore', '2.5', 'number', 'string'),
])
def test_a_known_key_of_the_wrong_json_type_is_named(key, value, kind, expected):
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(('{"%s": %s}' % (key, value)).encode(), 'f.json')
    assert err.value.msg == (f'f.json: "{key}" is a JSON {kind} where a JSON {expected} is expected; it was left '
                             'unchanged.')


def test_known_keys_of_the_right_type_or_null_are_read():
    raw = b'{"auths": {}, "credHelpers": {"us.icr.io": "icr"}, "credsStore": "desktop", "other": [1]}'
    assert auth_file.parse(raw, 'f.json') == {'auths': {}, 'credHelpers': {'us.icr.io': 'icr'}, 'credsStore': 'desktop',
                                              'other': [1]}
    assert auth_file.parse(b'{"auths": null, "credHelpers": null, "credsStore": null}', 'f.json') == {
        'auths': None, 'credHelpers': None, 'credsStore': None}


def test_text_that_is_not_utf8_is_named():
    with pytest.raises(ConfigFileError) as err:
        auth_file.parse(b'{"a": "\xff"}', 'f.json')
    assert err.value.msg == 'f.json is not UTF-8 text; it was left unchanged. Fix or remove it.'


def test_a_stored_credential_needs_both_a_username_and_a_password():
    assert auth_file.stored_credential({'password': 'p'}) is None
    assert auth_file.stored_credential({'username': '', 'password': 'p'}) is None
    assert auth_file.stored_credential({'username': 'u'}) is None
    assert auth_file.stored_credential({'username': 'u', 'password': ''}) == ('u', '')


def test_an_entry_that_is_not_an_object_is_named():
    with pytest.raises(ConfigFileError) as err:
        auth_file.plan_present({'auths': {'us.icr.io': 'x'}}, ['us.icr.io'], 'iamapikey', 'k')
    assert err.value.msg == ('The entry for us.icr.io in "auths" is a JSON string, not an object; the file was left '
                             'unchanged.')


def test_an_unchanged_host_does_not_stop_the_plan_for_the_next():
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', 'k')}}}
    new, actions = auth_file.plan_present(data, ['us.icr.io', 'de.icr.io'], 'iamapikey', 'k')
    assert actions == {'us.icr.io': 'unchanged', 'de.icr.io': 'added'}
    assert new['auths'] == {'us.icr.io': {'auth': encode_auth('iamapikey', 'k')},
                            'de.icr.io': {'auth': encode_auth('iamapikey', 'k')}}


def test_a_token_not_issued_yet_is_planned_with_an_empty_password():
    new, actions = auth_file.plan_present({}, ['us.icr.io'], 'iamapikey', None)
    assert actions == {'us.icr.io': 'added'} and new == {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', '')}}}


def test_a_stored_token_stays_for_as_long_as_min_validity_asks_at_the_time_given():
    old = iam_token(now=NOW, lifetime=600)
    new = iam_token(now=NOW + 5, lifetime=3600)
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iambearer', old)}}}

    def action(*args, **kwargs):
        return auth_file.plan_present(data, ['us.icr.io'], 'iambearer', new, *args, **kwargs)[1]['us.icr.io']
    assert action(600, now=NOW) == 'unchanged' and action(601, now=NOW) == 'updated'
    assert action(min_validity=0, now=NOW + 600) == 'unchanged' and action(now=NOW + 600) == 'unchanged'
    assert action(now=NOW + 601) == 'updated'
    assert action(600, reauthorize=True, now=NOW) == 'updated'


def test_removing_the_last_entry_leaves_an_empty_auths_object():
    data = {'auths': {'us.icr.io': {'auth': encode_auth('iamapikey', 'k')}}, 'credsStore': 'desktop'}
    assert auth_file.plan_absent(data, ['us.icr.io']) == ({'auths': {}, 'credsStore': 'desktop'},
                                                          {'us.icr.io': 'removed'})
    assert auth_file.plan_absent({'auths': None}, ['us.icr.io']) == ({'auths': {}}, {'us.icr.io': 'unchanged'})


def test_plan_helpers_keeps_the_other_hosts_helpers_and_replaces_what_is_not_an_entry():
    data = {'auths': {'us.icr.io': ['x'], 'de.icr.io': 'y'}, 'credHelpers': {'jp.icr.io': 'pass'}}
    new = auth_file.plan_helpers(data, {'us.icr.io': 'icr', 'de.icr.io': 'icr'}, 'docker', True)
    assert new == {'auths': {'us.icr.io': {}, 'de.icr.io': {}},
                   'credHelpers': {'jp.icr.io': 'pass', 'us.icr.io': 'icr', 'de.icr.io': 'icr'}}
    assert data['credHelpers'] == {'jp.icr.io': 'pass'}
    # Not named again when the file already sends the host to it; a host already sent elsewhere is sent to it.
    same = {'credHelpers': {'us.icr.io': 'icr', 'de.icr.io': 'pass'}}
    assert auth_file.plan_helpers(same, {'us.icr.io': 'icr'}, 'containers', True) == same
    assert auth_file.plan_helpers(same, {'de.icr.io': 'icr'}, 'containers', True) == {
        'credHelpers': {'us.icr.io': 'icr', 'de.icr.io': 'icr'}}


def test_credsstore_sends_a_host_to_a_helper_in_docker_s_file_only():
    data = {'credHelpers': {'us.icr.io': 'pass'}, 'credsStore': 'icr'}
    assert auth_file.plan_helpers(data, {'us.icr.io': 'icr'}, 'docker', True) == {
        'auths': {'us.icr.io': {}}, 'credHelpers': {'us.icr.io': 'icr'}, 'credsStore': 'icr'}
    assert auth_file.plan_helpers({'credsStore': 'icr'}, {'us.icr.io': 'icr'}, 'docker', True) == {
        'auths': {'us.icr.io': {}}, 'credsStore': 'icr'}
    assert auth_file.plan_helpers({'credsStore': 'icr'}, {'us.icr.io': 'icr'}, 'containers', True) == {
        'credsStore': 'icr', 'credHelpers': {'us.icr.io': 'icr'}}


def test_scoped_keys_are_refused_word_for_word():
    from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
    keys = ['us.icr.io', 'us.icr.io/web', 'de.icr.io/app']
    with pytest.raises(InputError) as err:
        auth_file.check_scoped(keys, ['containers', 'docker'], 'file', 'auto')
    assert err.value.msg == ("namespaces/registries: us.icr.io/web, de.icr.io/app has a namespace path after the host, "
                             "but Docker's config.json matches credentials by registry host only (Docker would ignore "
                             'the entry). Write it to the containers auth.json with format: containers - podman, '
                             'skopeo and buildah use the longest matching prefix - or give the host alone.')
    with pytest.raises(InputError) as err:
        auth_file.check_scoped(keys, ['containers'], 'helper', 'auto')
    assert err.value.msg == ('namespaces/registries: us.icr.io/web, de.icr.io/app is scoped to a namespace, but '
                             'credHelpers entries are per registry host (containers tools ask a helper for the whole '
                             'host); use method: file for namespace-scoped credentials.')
    with pytest.raises(InputError) as err:
        auth_file.check_scoped(keys, ['containers'], 'file', 'pass')
    assert err.value.msg == ('credential_store: us.icr.io/web, de.icr.io/app is scoped to a namespace, but a '
                             'credential helper stores per registry host; use credential_store: file (or auto) for '
                             'namespace-scoped credentials.')
    auth_file.check_scoped(keys, ['containers'], 'file', 'file')
    auth_file.check_scoped(keys, ['containers'], 'file', 'auto')


def test_a_helper_of_the_host_shadows_keys_scoped_at_any_depth():
    data = {'credHelpers': {'us.icr.io': 'icr'}}
    assert auth_file.shadowed_scopes(data, ['us.icr.io/web/app', 'de.icr.io/web/app', 'us.icr.io/web']) == [
        'us.icr.io/web/app', 'us.icr.io/web']


def test_serialize_is_indented_up_to_the_limit_and_compact_past_it(monkeypatch):
    data = {'auths': {'us.icr.io': {'auth': 'eDp5'}}, 'n': [1, 2]}
    indented = json.dumps(data, indent='\t').encode('utf-8')
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', len(indented))
    assert auth_file.serialize(data) == indented
    monkeypatch.setattr(auth_file, 'MAX_FILE_SIZE', len(indented) - 1)
    assert auth_file.serialize(data) == b'{"auths":{"us.icr.io":{"auth":"eDp5"}},"n":[1,2]}'
