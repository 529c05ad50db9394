# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils._login_module import run
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


class Exited(Exception):
    pass


class FakeModule(object):
    """What run() uses of AnsibleModule: params, check and diff mode, warn, exit_json and fail_json."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = False
        self.warnings = []
        self.outcome = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.outcome = ('exit', result)
        raise Exited()

    def fail_json(self, **result):
        self.outcome = ('fail', result)
        raise Exited()


def params(tmp_path, **kw):
    base = dict(registries=['us.icr.io'], password=API_KEY, config_path=str(tmp_path / 'config.json'))
    base.update(kw)
    return base


def test_a_run_exits_with_the_result_and_its_warnings(tmp_path):
    path = tmp_path / 'config.json'
    path.write_text('{}')
    path.chmod(0o644)
    module = FakeModule(params(tmp_path))
    with pytest.raises(Exited):
        run(module, None)
    kind, result = module.outcome
    assert kind == 'exit' and result['changed'] and result['registries'] == {'us.icr.io': 'added'}
    assert 'us.icr.io' in json.loads(path.read_text())['auths']
    assert any('can be read or changed by' in w for w in module.warnings), module.warnings


def test_an_error_fails_with_its_message_and_no_secret(tmp_path):
    module = FakeModule(params(tmp_path, password=None, api_key=API_KEY, username_type='iambearer'))
    with pytest.raises(Exited):
        run(module, None)
    kind, result = module.outcome
    assert kind == 'fail' and result['msg'].startswith('api_key: ') and API_KEY not in json.dumps(result)
    assert not (tmp_path / 'config.json').exists()


def test_the_network_given_is_the_one_used(tmp_path):
    asked = []

    class Network(object):
        def verify(self, hosts, username, password):
            asked.append(tuple(hosts))
            return []

    module = FakeModule(params(tmp_path, validate=True))
    with pytest.raises(Exited):
        run(module, Network())
    assert module.outcome[0] == 'exit' and asked == [('us.icr.io',)]
