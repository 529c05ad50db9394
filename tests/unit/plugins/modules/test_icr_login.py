# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.icr.auth.plugins.modules import icr_login
from ansible_collections.icr.auth.tests.unit.plugins.modules.module_runner import run_module
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


@pytest.mark.parametrize('check_mode', [False, True])
def test_module_writes_or_predicts(tmp_path, check_mode):
    path = tmp_path / 'config.json'
    args = dict(regions=['us-south', 'eu-de'], password=API_KEY, config_path=str(path), _ansible_check_mode=check_mode,
                _ansible_diff=True)
    failed, result, raw = run_module(icr_login, args)
    assert not failed and result['changed']
    assert result['registries'] == {'us.icr.io': 'added', 'de.icr.io': 'added'}
    assert path.exists() is not check_mode
    assert API_KEY not in raw
    again_failed, again, dummy = run_module(icr_login, args)
    assert not again_failed and again['changed'] is check_mode


def test_module_fails_clearly_on_unknown_region_without_secret(tmp_path):
    failed, result, raw = run_module(icr_login, dict(regions=['mars'], password=API_KEY, config_path=str(tmp_path / 'c.json')))
    assert failed and "regions: unknown region 'mars'" in result['msg'] and API_KEY not in raw


def test_module_requires_a_secret_for_present(tmp_path):
    failed, result, dummy = run_module(icr_login, dict(regions=['us-south'], config_path=str(tmp_path / 'c.json')))
    assert failed and 'password' in result['msg'] and 'api_key' in result['msg']


def test_module_unparsable_file_untouched(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{broken')
    failed, result, dummy = run_module(icr_login, dict(regions=['us-south'], password=API_KEY, config_path=str(path)))
    assert failed and 'not valid JSON' in result['msg'] and path.read_text() == '{broken'


def test_module_username_type_typo_names_option(tmp_path):
    failed, result, dummy = run_module(icr_login, dict(regions=['us-south'], password=API_KEY, username_type='iamkey',
                                                       config_path=str(tmp_path / 'c.json')))
    assert failed and 'username_type' in result['msg']
    json.dumps(result)


def test_method_helper_needs_no_credential_and_the_file_method_still_does(tmp_path):
    path = tmp_path / 'config.json'
    failed, result, _raw = run_module(icr_login, dict(regions=['us-south'], method='helper', config_path=str(path),
                                                      _ansible_diff=True))
    assert not failed and result['changed'] and result['username'] is None, result
    assert json.loads(path.read_text()) == {'credHelpers': {'us.icr.io': 'icr'}}
    assert '"stored_in": "docker-credential-icr"' in result['diff']['after']
    failed, result, _raw = run_module(icr_login, dict(regions=['us-south'], config_path=str(path)))
    assert failed and result['msg'].startswith('password/api_key: ') and 'method: helper' in result['msg']
    assert json.loads(path.read_text()) == {'credHelpers': {'us.icr.io': 'icr'}}
    failed, result, raw = run_module(icr_login, dict(regions=['us-south'], method='helper', password=API_KEY,
                                                     config_path=str(path)))
    assert failed and result['msg'].startswith('password: method: helper') and API_KEY not in raw
