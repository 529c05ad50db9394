# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""icr_credential's code run in the controller's worker: when it may, and that its result is the module's, masked."""

from __future__ import annotations

import base64
import sys
import types

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _obtain
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError
from ansible_collections.icr.auth.plugins.plugin_utils import _credential_in_process as ip

KEY = 'k3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3y_1'
OBTAIN = 'ansible_collections.icr.auth.plugins.module_utils._obtain'


def action(transport='local', become=False, async_val=0, environment=None):
    return types.SimpleNamespace(_connection=types.SimpleNamespace(transport=transport),
                                 _play_context=types.SimpleNamespace(become=become),
                                 _task=types.SimpleNamespace(async_val=async_val,
                                                             environment=[{}] if environment is None else environment))


@pytest.mark.parametrize('changed, runs', [
    ({}, True),
    ({'environment': []}, True),
    ({'environment': [{}, {}]}, True),
    ({'transport': 'ssh'}, False),
    ({'transport': 'ansible.netcommon.network_cli'}, False),
    ({'become': True}, False),
    ({'async_val': 30}, False),
    ({'environment': [{}, {'HTTPS_PROXY': 'http://127.0.0.1:3128'}]}, False),
    ({'environment': '{{ proxy_env }}'}, False),
])
def test_runs_here_only_on_the_controller_as_its_user_without_async_or_environment(changed, runs):
    assert ip.runs_here(action(**changed)) is runs


def test_a_connection_without_a_transport_is_not_the_controller():
    assert ip.runs_here(types.SimpleNamespace(_connection=object(), _play_context=types.SimpleNamespace(become=False),
                                              _task=types.SimpleNamespace(async_val=0, environment=[{}]))) is False


def test_iamapikey_shown_withholds_the_key_and_warns():
    result = ip.in_process_result({'api_key': KEY, 'registries': []}, {}, no_log=False)
    assert result['password'] is None and result['dockerconfigjson'] is None, result
    assert result['username'] == 'iamapikey' and result['changed'] is False and 'failed' not in result
    assert result['warnings'] == [
        'password and dockerconfigjson are null: for iamapikey they are the API key, which is returned only to a task '
        'with no_log: true (its result is then shown nowhere). Set no_log: true on this task.']
    assert KEY not in repr(result)


def test_iamapikey_no_log_returns_the_key_as_the_module_does():
    result = ip.in_process_result({'registries': ['us.icr.io'], 'verify': False}, {'IBMCLOUD_API_KEY': KEY}, no_log=True)
    assert result['password'] == KEY and 'warnings' not in result
    entry = result['dockerconfigjson']['auths']['us.icr.io']
    assert entry == {'username': 'iamapikey', 'password': KEY,
                     'auth': base64.b64encode(('iamapikey:' + KEY).encode()).decode()}
    assert 'invocation' not in result


@pytest.mark.parametrize('args', [
    {'api_key': KEY, 'nope': 1},                      # an option the module does not have
    {'api_key': KEY, 'min_validity': 'soon'},          # a wrong type
    {'api_key': KEY, 'username_type': 'iamcookie'},    # not a choice
])
def test_arguments_the_module_refuses_are_left_to_the_module(args):
    assert ip.in_process_result(args, {}, no_log=False) is None


def test_without_the_network_code_the_module_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, OBTAIN, None)  # import of _obtain fails: ImportError
    assert ip.in_process_result({'api_key': KEY, 'registries': []}, {}, no_log=False) is None


@pytest.mark.parametrize('env, args', [({'IBMCLOUD_API_KEY': KEY}, {}), ({'IC_API_KEY': KEY}, {}), ({}, {'api_key': KEY})])
def test_a_failure_is_the_modules_with_every_secret_masked(monkeypatch, env, args):
    def refuse(params, environ):
        raise IamError('IAM refused %s (%s)' % (KEY, params.get('api_key') or environ.get('IBMCLOUD_API_KEY')),
                       code='BXNIM0415E', verification={'us.icr.io': {'ok': False, 'msg': 'no ' + KEY}}, body=KEY)
    monkeypatch.setattr(_obtain, 'obtain', refuse)
    result = ip.in_process_result(dict(args, registries=['us.icr.io']), env, no_log=False)
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].startswith('IAM refused ********') and KEY not in repr(result), result
    assert result['code'] == 'BXNIM0415E' and 'body' not in result  # only the details a module returns
    assert result['verification'] == {'us.icr.io': {'ok': False, 'msg': 'no ********'}}


def test_an_unexpected_error_fails_masked_with_where_it_happened(monkeypatch):
    def crash(params, environ):
        raise ValueError('cannot parse ' + KEY)
    monkeypatch.setattr(_obtain, 'obtain', crash)
    result = ip.in_process_result({'api_key': KEY, 'registries': []}, {}, no_log=True)
    assert result['failed'] is True and result['msg'] == 'icr_credential failed: ValueError: cannot parse ********'
    assert 'in crash' in result['exception'] and KEY not in result['exception']


def test_warnings_are_masked(monkeypatch):
    def warn(params, environ):
        return ({'changed': False, 'username': 'iambearer', 'username_type': 'iambearer', 'password': 'tok',
                 'dockerconfigjson': None}, ['the key %s is old' % KEY])
    monkeypatch.setattr(_obtain, 'obtain', warn)
    result = ip.in_process_result({'api_key': KEY, 'username_type': 'iambearer', 'registries': []}, {}, no_log=True)
    assert result['warnings'] == ['the key ******** is old'] and result['password'] == 'tok'


def test_controller_env_is_a_copy_of_the_workers(monkeypatch):
    monkeypatch.setenv('ICR_AUTH_UNIT', 'x')
    env = ip.controller_env()
    env['ICR_AUTH_UNIT'] = 'y'
    assert ip.controller_env()['ICR_AUTH_UNIT'] == 'x'


@pytest.mark.parametrize('no_log', [False, True])
def test_the_invocation_when_asked_holds_the_arguments_masked(no_log):
    result = ip.in_process_result({'api_key': KEY, 'registries': [], 'cache_dir': '/nonexistent/c'}, {}, no_log=no_log,
                                  invocation=True)
    args = result['invocation']['module_args']
    assert args['api_key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' and args['cache_dir'] == '/nonexistent/c'
    assert args['min_validity'] == 900 and args['registries'] == []  # the defaults, as the module's invocation has them
    assert KEY not in repr(result['invocation'])
    assert 'invocation' not in ip.in_process_result({'api_key': KEY, 'registries': []}, {}, no_log=no_log)


def test_a_failure_holds_the_invocation_when_asked(monkeypatch):
    def refuse(params, environ):
        raise IamError('no')
    monkeypatch.setattr(_obtain, 'obtain', refuse)
    result = ip.in_process_result({'registries': []}, {'IBMCLOUD_API_KEY': KEY}, no_log=False, invocation=True)
    assert result['failed'] is True and result['invocation']['module_args']['api_key'] is None


@pytest.mark.parametrize('value, expected', [(None, False), ('true', True), ('false', False)])
def test_inject_invocation_follows_ansible_cores_setting(monkeypatch, value, expected):
    from ansible import constants as C
    if 'INJECT_INVOCATION' not in C.config.get_configuration_definitions():
        assert ip.inject_invocation({}) is True  # before 2.21 every module result holds its invocation
        return
    if value is not None:
        monkeypatch.setenv('ANSIBLE_INJECT_INVOCATION', value)
    else:
        monkeypatch.delenv('ANSIBLE_INJECT_INVOCATION', raising=False)
    assert ip.inject_invocation({}) is expected
    assert ip.inject_invocation({'ansible_inject_invocation': True}) is True
