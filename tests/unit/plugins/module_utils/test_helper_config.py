# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_config: the schema of the helper's configuration file, its defaults and its messages."""

from __future__ import annotations

import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_config as hc
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError


def test_the_defaults_of_the_contract():
    assert hc.DEFAULT_CONFIG_PATH == '/etc/icr-auth/credential-helper.json'
    assert hc.validate({'identity': 'vpc_trusted_profile'}) == {
        'version': 1, 'identity': 'vpc_trusted_profile', 'registries': [], 'iam_endpoint': 'public',
        'metadata_endpoint': 'http://169.254.169.254', 'metadata_version': '2025-08-26', 'trusted_profile_id': None,
        'trusted_profile_crn': None, 'profile_id': None, 'profile_name': None, 'cr_token_file': None,
        'api_key_file': '~/.config/docker-credential-icr/apikey', 'ca_path': None, 'validate_certs': True,
        'timeout': 5, 'retries': 1, 'refresh_share': 0.25, 'cache_dir': None}


def test_null_means_the_default_and_the_output_validates_again():
    out = hc.validate({'identity': 'api_key_file', 'version': None, 'registries': None, 'timeout': None,
                       'api_key_file': None, 'metadata_endpoint': None})
    assert (out['version'], out['registries'], out['timeout'], out['api_key_file']) == (
        1, [], 5, '~/.config/docker-credential-icr/apikey')
    assert hc.validate(json.loads(json.dumps(out))) == out


def test_registries_are_normalised_and_deduplicated():
    out = hc.validate({'identity': 'vpc_trusted_profile', 'registries': [
        'https://us.icr.io/', 'us.icr.io', 'registry.ng.bluemix.net', 'private.de.icr.io', '127.0.0.1:5000']})
    assert out['registries'] == ['us.icr.io', 'private.de.icr.io', '127.0.0.1:5000']


def test_endpoints_are_kept_without_a_trailing_slash():
    out = hc.validate({'identity': 'vpc_trusted_profile', 'iam_endpoint': 'https://iam.example.test/',
                       'metadata_endpoint': 'https://api.metadata.cloud.ibm.com/'})
    assert (out['iam_endpoint'], out['metadata_endpoint']) == ('https://iam.example.test',
                                                               'https://api.metadata.cloud.ibm.com')


@pytest.mark.parametrize('config, says', [
    ([], 'give a JSON object such as'),
    ({}, 'identity: give one of vpc_trusted_profile, compute_resource, api_key_file, not null.'),
    ({'identity': 'apikey'}, 'identity: give one of vpc_trusted_profile, compute_resource, api_key_file, not "apikey".'),
    ({'identity': 'api_key_file', 'api_key': 'x'}, "unknown key(s) 'api_key'; the keys are"),
    ({'identity': 'api_key_file', 'version': 2}, 'version: this helper reads version 1, not 2.'),
    ({'identity': 'api_key_file', 'version': True}, 'version: this helper reads version 1, not true.'),
    ({'identity': 'api_key_file', 'registries': 'us.icr.io'}, 'registries: give a list of registry hosts'),
    ({'identity': 'api_key_file', 'registries': ['us.icr.io/ns']}, "registries: registry 'us.icr.io/ns' has the path"),
    ({'identity': 'api_key_file', 'iam_endpoint': 'iam.cloud.ibm.com'}, 'iam_endpoint: '),
    ({'identity': 'api_key_file', 'iam_endpoint': 3}, 'iam_endpoint: give public, private or an https:// URL.'),
    ({'identity': 'vpc_trusted_profile', 'metadata_endpoint': '169.254.169.254'}, 'metadata_endpoint: give an http://'),
    ({'identity': 'vpc_trusted_profile', 'metadata_version': '2024-01-01'},
     'metadata_version: give 2025-08-26 or 2022-03-01, not "2024-01-01".'),
    ({'identity': 'vpc_trusted_profile', 'trusted_profile_id': 'P', 'trusted_profile_crn': 'crn:v1:x'},
     'trusted_profile_id: give trusted_profile_id or trusted_profile_crn, not both.'),
    ({'identity': 'vpc_trusted_profile', 'trusted_profile_crn': 'Profile-1'}, "is not a CRN (crn:v1:...)"),
    ({'identity': 'vpc_trusted_profile', 'trusted_profile_id': ''}, 'trusted_profile_id: give a non-empty string'),
    ({'identity': 'vpc_trusted_profile', 'trusted_profile_id': ' P'}, 'remove the white space'),
    ({'identity': 'compute_resource'}, 'profile_id: the compute_resource identity needs profile_id or profile_name'),
    ({'identity': 'api_key_file', 'api_key_file': 'apikey'}, "api_key_file: 'apikey' is not an absolute path"),
    ({'identity': 'api_key_file', 'cache_dir': '~bob/x'}, 'cache_dir: '),
    ({'identity': 'api_key_file', 'validate_certs': 'yes'}, 'validate_certs: give true or false, not "yes".'),
    ({'identity': 'api_key_file', 'timeout': 0}, 'timeout: give a number from 0.1 to 120, not 0.'),
    ({'identity': 'api_key_file', 'timeout': '5'}, 'timeout: give a number from 0.1 to 120, not "5".'),
    ({'identity': 'api_key_file', 'retries': 1.5}, 'retries: give a whole number from 0 to 5, not 1.5.'),
    ({'identity': 'api_key_file', 'retries': 9}, 'retries: give a whole number from 0 to 5, not 9.'),
    ({'identity': 'api_key_file', 'refresh_share': 1}, 'refresh_share: give a number from 0.01 to 0.9, not 1.'),
    ({'identity': 'api_key_file', 'refresh_share': float('nan')}, 'refresh_share: give a number'),
])
def test_bad_configurations_are_refused_with_the_key_and_the_fix(config, says):
    with pytest.raises(InputError) as caught:
        hc.validate(config)
    assert caught.value.msg.startswith('credential helper configuration: ')
    assert says in caught.value.msg


def test_config_path_from_the_environment():
    assert hc.config_path({}) == hc.DEFAULT_CONFIG_PATH
    assert hc.config_path({hc.CONFIG_ENV: '/tmp/c.json'}) == '/tmp/c.json'


def test_load_names_the_file(tmp_path):
    path = tmp_path / 'c.json'
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg.startswith(f'cannot read the configuration {path}: No such file or directory. Install it')
    path.write_text('{"identity": ')
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg.startswith(f'the configuration {path} is not valid JSON')
    path.write_text('{"identity": "x"}')
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg.startswith(f'{path}: credential helper configuration: identity: ')
    path.write_text('{"identity": "api_key_file"}')
    assert hc.load(str(path))['identity'] == 'api_key_file'
