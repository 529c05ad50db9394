# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The configuration file of the credential helper docker-credential-icr: its schema and checks (internal use only).

Used by the helper (load) and by the module that installs it (validate, then write the normalised dict as JSON).
The file holds no secret. Every key but ``identity`` is optional; validate() fills in the defaults.
"""

from __future__ import annotations

import json
import math
import os

from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._iam import token_url
from ansible_collections.icr.auth.plugins.module_utils._regions import normalize_registry

DEFAULT_CONFIG_PATH = '/etc/icr-auth/credential-helper.json'
CONFIG_ENV = 'DOCKER_CREDENTIAL_ICR_CONFIG'
VERSION = 1
IDENTITIES = ('vpc_trusted_profile', 'compute_resource', 'api_key_file')
METADATA_VERSIONS = ('2025-08-26', '2022-03-01')
MAX_CONFIG_SIZE = 64 * 1024

DEFAULTS = {
    'version': VERSION,
    'identity': None,
    'registries': [],
    'iam_endpoint': 'public',
    'metadata_endpoint': 'http://169.254.169.254',
    'metadata_version': '2025-08-26',
    'trusted_profile_id': None,
    'trusted_profile_crn': None,
    'profile_id': None,
    'profile_name': None,
    'cr_token_file': None,
    'api_key_file': '~/.config/docker-credential-icr/apikey',
    'ca_path': None,
    'validate_certs': True,
    'timeout': 5,
    'retries': 1,
    'refresh_share': 0.25,
    'cache_dir': None,
}
PREFIX = 'credential helper configuration'


def _fail(key: str, what: str) -> InputError:
    return InputError(f'{PREFIX}: {key}: {what}')


def _string(config: dict, key: str, path: bool = False) -> str | None:
    value = config[key]
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, f'give a non-empty string or null, not {json.dumps(value)}.')
    if value != value.strip() or '\n' in value or '\x00' in value:
        raise _fail(key, 'remove the white space around or inside the value.')
    if path and not (value.startswith('/') or value == '~' or value.startswith('~/')):
        raise _fail(key, f'{value!r} is not an absolute path; give /... or ~/... (~ is the home of the calling user).')
    return value


def _number(config: dict, key: str, low: float, high: float, whole: bool = False) -> float:
    value = config[key]
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or not low <= value <= high:
        kind = 'a whole number' if whole else 'a number'
        raise _fail(key, f'give {kind} from {low:g} to {high:g}, not {json.dumps(value)}.')
    return value


def _url(config: dict, key: str) -> str:
    value = _string(config, key)
    if value is None or not (value.startswith('http://') or value.startswith('https://')) or len(value) < 9:
        raise _fail(key, f'give an http:// or https:// URL such as http://169.254.169.254, not {json.dumps(value)}.')
    return value.rstrip('/')


def validate(config: object) -> dict:
    """The normalised configuration (every key, defaults filled in); InputError naming the key and the fix."""
    if not isinstance(config, dict):
        raise InputError(f'{PREFIX}: give a JSON object such as {{"version": 1, "identity": "vpc_trusted_profile"}}.')
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise InputError(f"{PREFIX}: unknown key(s) {', '.join(map(repr, unknown))}; the keys are "
                         f"{', '.join(sorted(DEFAULTS))}.")
    out = dict(DEFAULTS)
    out.update((k, v) for k, v in config.items() if v is not None or DEFAULTS[k] is None)
    if isinstance(out['version'], bool) or out['version'] != VERSION:
        raise _fail('version', f"this helper reads version {VERSION}, not {json.dumps(out['version'])}.")
    if out['identity'] not in IDENTITIES:
        raise _fail('identity', f"give one of {', '.join(IDENTITIES)}, not {json.dumps(out['identity'])}.")
    registries = out['registries']
    if not isinstance(registries, list):
        raise _fail('registries', 'give a list of registry hosts such as ["us.icr.io", "icr.io"].')
    hosts: list[str] = []
    for value in registries:
        host = normalize_registry(value, f'{PREFIX}: registries')[0]
        if host not in hosts:
            hosts.append(host)
    out['registries'] = hosts
    if not isinstance(out['iam_endpoint'], str):
        raise _fail('iam_endpoint', 'give public, private or an https:// URL.')
    try:
        token_url(out['iam_endpoint'])
    except InputError as exc:
        raise InputError(f'{PREFIX}: {exc.msg}') from None
    out['iam_endpoint'] = out['iam_endpoint'].strip().rstrip('/')
    out['metadata_endpoint'] = _url(out, 'metadata_endpoint')
    if out['metadata_version'] not in METADATA_VERSIONS:
        raise _fail('metadata_version', f"give {' or '.join(METADATA_VERSIONS)}, not {json.dumps(out['metadata_version'])}.")
    for key in ('trusted_profile_id', 'trusted_profile_crn', 'profile_id', 'profile_name'):
        out[key] = _string(out, key)
    if out['trusted_profile_id'] and out['trusted_profile_crn']:
        raise _fail('trusted_profile_id', 'give trusted_profile_id or trusted_profile_crn, not both.')
    if out['trusted_profile_crn'] and not out['trusted_profile_crn'].startswith('crn:'):
        raise _fail('trusted_profile_crn', f"{out['trusted_profile_crn']!r} is not a CRN (crn:v1:...); give the "
                    "profile's id as trusted_profile_id instead.")
    if out['identity'] == 'compute_resource' and not (out['profile_id'] or out['profile_name']):
        raise _fail('profile_id', 'the compute_resource identity needs profile_id or profile_name (the trusted '
                    'profile the compute resource may use).')
    for key in ('cr_token_file', 'api_key_file', 'ca_path', 'cache_dir'):
        out[key] = _string(out, key, path=True)
    if not isinstance(out['validate_certs'], bool):
        raise _fail('validate_certs', f"give true or false, not {json.dumps(out['validate_certs'])}.")
    out['timeout'] = _number(out, 'timeout', 0.1, 120)
    out['retries'] = int(_number(out, 'retries', 0, 5, whole=True))
    out['refresh_share'] = _number(out, 'refresh_share', 0.01, 0.9)
    return out


def config_path(environ: dict | None = None) -> str:
    """The configuration file: DOCKER_CREDENTIAL_ICR_CONFIG, else DEFAULT_CONFIG_PATH."""
    environ = os.environ if environ is None else environ
    return environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH


def load(path: str) -> dict:
    """The validated configuration in path; InputError naming the file and the fix."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read(MAX_CONFIG_SIZE + 1)
    except OSError as exc:
        hint = (' Install it with the icr.auth.icr_credential_helper module, or name another file with '
                f'{CONFIG_ENV}.') if exc.errno == 2 else ''
        raise InputError(f'cannot read the configuration {path}: {exc.strerror}.{hint}') from None
    if len(raw) > MAX_CONFIG_SIZE:
        raise InputError(f'the configuration {path} is larger than {MAX_CONFIG_SIZE} bytes; is it the right file?')
    try:
        data = json.loads(raw.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f'the configuration {path} is not valid JSON ({exc}).') from None
    try:
        return validate(data)
    except InputError as exc:
        raise InputError(f'{path}: {exc.msg}') from None
