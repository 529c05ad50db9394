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


def _refused(config):
    with pytest.raises(InputError) as caught:
        hc.validate(config)
    return caught.value.msg


@pytest.mark.parametrize('config, message', [
    ([], 'give a JSON object such as {"version": 1, "identity": "vpc_trusted_profile"}.'),
    ({'identity': 'api_key_file', 'b': 1, 'a': 2},
     "unknown key(s) 'a', 'b'; the keys are api_key_file, ca_path, cache_dir, cr_token_file, iam_endpoint, "
     "identity, metadata_endpoint, metadata_version, profile_id, profile_name, refresh_share, registries, retries, "
     "timeout, trusted_profile_crn, trusted_profile_id, validate_certs, version."),
    ({'identity': 'api_key_file', 'registries': 'us.icr.io'},
     'registries: give a list of registry hosts such as ["us.icr.io", "icr.io"].'),
    ({'identity': 'vpc_trusted_profile', 'metadata_endpoint': 'http://'},
     'metadata_endpoint: give an http:// or https:// URL such as http://169.254.169.254, not "http://".'),
    ({'identity': 'vpc_trusted_profile', 'metadata_endpoint': 'http://x'},
     'metadata_endpoint: give an http:// or https:// URL such as http://169.254.169.254, not "http://x".'),
    ({'identity': 'vpc_trusted_profile', 'metadata_endpoint': 'ftp://host.example'},
     'metadata_endpoint: give an http:// or https:// URL such as http://169.254.169.254, not "ftp://host.example".'),
    ({'identity': 'vpc_trusted_profile', 'trusted_profile_crn': 'Profile-1'},
     "trusted_profile_crn: 'Profile-1' is not a CRN (crn:v1:...); give the profile's id as trusted_profile_id "
     "instead."),
    ({'identity': 'compute_resource'},
     'profile_id: the compute_resource identity needs profile_id or profile_name (the trusted profile the compute '
     'resource may use).'),
    ({'identity': 'vpc_trusted_profile', 'profile_name': 7}, 'profile_name: give a non-empty string or null, not 7.'),
    ({'identity': 'vpc_trusted_profile', 'profile_name': ' \t'},
     'profile_name: give a non-empty string or null, not " \\t".'),
    ({'identity': 'vpc_trusted_profile', 'profile_id': 'a\nb'},
     'profile_id: remove the white space around or inside the value.'),
    ({'identity': 'vpc_trusted_profile', 'profile_id': 'a\x00b'},
     'profile_id: remove the white space around or inside the value.'),
    ({'identity': 'vpc_trusted_profile', 'profile_id': 'P '},
     'profile_id: remove the white space around or inside the value.'),
    ({'identity': 'api_key_file', 'api_key_file': 'apikey'},
     "api_key_file: 'apikey' is not an absolute path; give /... or ~/... (~ is the home of the calling user)."),
    ({'identity': 'compute_resource', 'profile_id': 'P', 'cr_token_file': 'token'},
     "cr_token_file: 'token' is not an absolute path; give /... or ~/... (~ is the home of the calling user)."),
    ({'identity': 'api_key_file', 'ca_path': '~root/ca.pem'},
     "ca_path: '~root/ca.pem' is not an absolute path; give /... or ~/... (~ is the home of the calling user)."),
    ({'identity': 'api_key_file', 'cache_dir': 'cache'},
     "cache_dir: 'cache' is not an absolute path; give /... or ~/... (~ is the home of the calling user)."),
    ({'identity': 'api_key_file', 'timeout': True}, 'timeout: give a number from 0.1 to 120, not true.'),
    ({'identity': 'api_key_file', 'timeout': 120.5}, 'timeout: give a number from 0.1 to 120, not 120.5.'),
    ({'identity': 'api_key_file', 'timeout': 0.09}, 'timeout: give a number from 0.1 to 120, not 0.09.'),
    ({'identity': 'api_key_file', 'timeout': float('inf')}, 'timeout: give a number from 0.1 to 120, not Infinity.'),
    ({'identity': 'api_key_file', 'retries': -1}, 'retries: give a whole number from 0 to 5, not -1.'),
    ({'identity': 'api_key_file', 'retries': 6}, 'retries: give a whole number from 0 to 5, not 6.'),
    ({'identity': 'api_key_file', 'refresh_share': 0.009},
     'refresh_share: give a number from 0.01 to 0.9, not 0.009.'),
    ({'identity': 'api_key_file', 'refresh_share': 0.91}, 'refresh_share: give a number from 0.01 to 0.9, not 0.91.'),
])
def test_each_refusal_word_for_word(config, message):
    assert _refused(config) == 'credential helper configuration: ' + message


@pytest.mark.parametrize('key, value', [
    ('timeout', 0.1), ('timeout', 120), ('timeout', 3), ('retries', 0), ('retries', 5), ('refresh_share', 0.01),
    ('refresh_share', 0.9), ('refresh_share', 0.5), ('validate_certs', False), ('metadata_version', '2022-03-01'),
    ('metadata_endpoint', 'http://xy'), ('metadata_endpoint', 'http://metadata.example/BOX'),
    ('iam_endpoint', 'https://IAM.EXAMPLE.TESTX'),
    ('trusted_profile_crn', 'crn:v1:bluemix:public:iam-identity::a/1::profile:P'),
    ('trusted_profile_id', 'Profile-1'), ('profile_name', 'my-profile'), ('cr_token_file', '/var/run/token'),
    ('api_key_file', '~'), ('api_key_file', '~/key'), ('ca_path', '/etc/ca.pem'), ('cache_dir', '~/.cache/x'),
    ('iam_endpoint', 'private'), ('iam_endpoint', 'https://iam.example.test'),
])
def test_values_at_and_inside_the_bounds_are_kept_as_given(key, value):
    out = hc.validate({'identity': 'vpc_trusted_profile', key: value})
    assert out[key] == value
    assert type(out[key]) is type(value)


def test_compute_resource_takes_either_profile_id_or_profile_name():
    assert hc.validate({'identity': 'compute_resource', 'profile_id': 'P'})['profile_id'] == 'P'
    assert hc.validate({'identity': 'compute_resource', 'profile_name': 'N'})['profile_name'] == 'N'


def test_an_empty_environment_value_means_the_default_path():
    assert hc.config_path({hc.CONFIG_ENV: ''}) == hc.DEFAULT_CONFIG_PATH


def test_load_reads_a_file_of_the_size_limit_and_refuses_one_byte_more(tmp_path):
    path = tmp_path / 'c.json'
    body = b'{"identity": "api_key_file"}'
    path.write_bytes(body + b' ' * (hc.MAX_CONFIG_SIZE - len(body)))
    assert hc.load(str(path))['identity'] == 'api_key_file'
    path.write_bytes(body + b' ' * (hc.MAX_CONFIG_SIZE + 1 - len(body)))
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg == f'the configuration {path} is larger than 65536 bytes; is it the right file?'


def test_load_messages_word_for_word(tmp_path):
    with pytest.raises(InputError) as caught:
        hc.load(str(tmp_path))
    assert caught.value.msg == f'cannot read the configuration {tmp_path}: Is a directory.'
    missing = tmp_path / 'missing.json'
    with pytest.raises(InputError) as caught:
        hc.load(str(missing))
    assert caught.value.msg == (f'cannot read the configuration {missing}: No such file or directory. Install it with '
                                'the icr.auth.icr_credential_helper module, or name another file with '
                                'DOCKER_CREDENTIAL_ICR_CONFIG.')
    path = tmp_path / 'c.json'
    path.write_bytes(b'{"identity": "\xff"}')
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg.startswith(f'the configuration {path} is not valid JSON (') and 'utf-8' in caught.value.msg
    path.write_text('{"identity": "x"}')
    with pytest.raises(InputError) as caught:
        hc.load(str(path))
    assert caught.value.msg == (f'{path}: credential helper configuration: identity: give one of vpc_trusted_profile, '
                                'compute_resource, api_key_file, not "x".')


def test_trailing_slashes_are_dropped_and_nothing_else():
    out = hc.validate({'identity': 'vpc_trusted_profile', 'iam_endpoint': 'https://iam.example.test/X//',
                       'metadata_endpoint': 'http://metadata.example/BOX//'})
    assert (out['iam_endpoint'], out['metadata_endpoint']) == ('https://iam.example.test/X',
                                                               'http://metadata.example/BOX')


def test_config_path_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv(hc.CONFIG_ENV, '/srv/helper.json')
    assert hc.config_path() == '/srv/helper.json'
    monkeypatch.delenv(hc.CONFIG_ENV)
    assert hc.config_path() == hc.DEFAULT_CONFIG_PATH


def test_load_never_reads_more_than_one_byte_past_the_limit(monkeypatch):
    """A path naming a device or a pipe without end (/dev/zero) is refused after the limit, not read for ever."""
    asked = []

    class Endless(object):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, amount=None):
            asked.append(amount)
            assert amount is not None, 'read without a bound'
            return b' ' * amount

    monkeypatch.setattr(hc, 'open', lambda path, mode: Endless(), raising=False)
    with pytest.raises(InputError) as caught:
        hc.load('/dev/zero')
    assert caught.value.msg == 'the configuration /dev/zero is larger than 65536 bytes; is it the right file?'
    assert asked == [hc.MAX_CONFIG_SIZE + 1]
