# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: a bad value for every option of both modules fails with a clear error that names the option.

One real ansible-playbook run holds every case as its own task (ignore_errors); each case is a test below.
A case must fail (never silently do something else), name the option, carry no traceback, write nothing,
and never echo the secret it was given.
"""

from __future__ import annotations

import json

import pytest

from playrunner import run_play
from rel_support import record

SECRET = 'InputCaseSecret0123456789'
JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJpYW1faWQiOiJJQk1pZC0xIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlc2lnbmF0dXJl'

# (id, module, args (path is filled in), words that must all be in the message (case-insensitive), xfail reason)
LOGIN = 'icr.auth.icr_login'
CRED = 'icr.auth.icr_credential'
CASES = [
    ('login-unknown-region', LOGIN, {'regions': ['us-sooth']}, ('region', 'us-sooth', 'us-south'), None),
    ('login-empty-region', LOGIN, {'regions': ['']}, ('region', 'empty'), None),
    ('login-registry-with-path', LOGIN, {'registries': ['us.icr.io/team-a/app']}, ('registries', 'path'), None),
    ('login-registry-with-scheme', LOGIN, {'registries': ['ftp://us.icr.io']}, ('registries', 'scheme'), None),
    ('login-registry-with-blank', LOGIN, {'registries': ['us.icr.io ']}, ('registries', 'white space'), None),
    ('login-registry-not-a-host', LOGIN, {'registries': ['us_icr!io']}, ('registries', 'not a valid registry host'), None),
    ('login-empty-password', LOGIN, {'password': ''}, ('password', 'empty'), None),
    ('login-password-with-blank', LOGIN, {'password': SECRET[:10] + ' ' + SECRET[10:]}, ('password', 'white space'), None),
    ('login-password-with-newline', LOGIN, {'password': SECRET + '\n'}, ('password', 'white space'), None),
    ('login-empty-api-key', LOGIN, {'password': None, 'api_key': ''}, ('api_key',), None),
    ('login-api-key-with-blank', LOGIN, {'password': None, 'api_key': ' ' + SECRET}, ('api_key', 'white space'), None),
    ('login-api-key-is-a-token', LOGIN, {'password': None, 'api_key': JWT}, ('api_key', 'access token'), None),
    ('login-username-type-typo', LOGIN, {'username_type': 'iamapikeys'}, ('username_type', 'iamapikey'), None),
    ('login-bearer-given-an-api-key', LOGIN, {'username_type': 'iambearer'}, ('password', 'iambearer'), None),
    ('login-config-path-traversal', LOGIN, {'config_path': '/tmp/icr-rel/../../etc/config.json'}, ('config_path', '..'), None),
    ('login-config-path-relative', LOGIN, {'config_path': 'docker/config.json'}, ('config_path', 'not an absolute path'), None),
    ('login-config-path-directory', LOGIN, {'config_path': '/tmp/icr-rel-input/'}, ('config_path', 'directory'), None),
    ('login-config-path-with-both', LOGIN, {'format': 'both'}, ('config_path', 'format'), None),
    ('login-format-unknown', LOGIN, {'format': 'podman'}, ('format', 'docker'), None),
    ('login-state-unknown', LOGIN, {'state': 'gone'}, ('state', 'absent'), None),
    ('login-mode-not-octal', LOGIN, {'mode': 'rw-------'}, ('mode', 'octal'), None),
    ('login-mode-decimal-600', LOGIN, {'mode': 600}, ('mode',), None),
    ('login-mode-locks-owner-out', LOGIN, {'mode': '0400'}, ('mode', '0600'), None),
    ('login-mode-out-of-range', LOGIN, {'mode': '77777'}, ('mode', 'range'), None),
    ('login-unknown-user', LOGIN, {'user': 'icr-rel-ghost1', 'config_path': None}, ('user', 'icr-rel-ghost1'), None),
    ('login-unknown-group', LOGIN, {'group': 'icr-rel-ghost2'}, ('group', 'icr-rel-ghost2'), None),
    ('login-unknown-owner', LOGIN, {'owner': 'icr-rel-ghost3'}, ('owner', 'icr-rel-ghost3'), None),
    ('login-negative-min-validity', LOGIN, {'min_validity': -5}, ('min_validity',), None),
    ('login-min-validity-not-int', LOGIN, {'min_validity': 'soon'}, ('min_validity',), None),
    ('login-bad-credential-store', LOGIN, {'credential_store': '../../bin/sh'}, ('credential_store',), None),
    ('login-timeout-zero', LOGIN, {'validate': True, 'timeout': 0}, ('timeout',), None),
    ('login-retries-too-many', LOGIN, {'validate': True, 'retries': 99}, ('retries',), None),
    ('login-ca-path-missing', LOGIN, {'validate': True, 'ca_path': '/nonexistent/ca.pem'}, ('ca_path',), None),
    ('login-iam-endpoint-bogus', LOGIN, {'password': None, 'api_key': SECRET, 'username_type': 'iambearer',
                                         'iam_endpoint': 'ftp://iam.example'}, ('iam_endpoint',), None),
    ('login-password-and-api-key', LOGIN, {'api_key': SECRET}, ('mutually exclusive', 'password', 'api_key'), None),
    ('login-no-registry', LOGIN, {'registries': None}, ('regions', 'registries'), None),
    ('login-present-without-secret', LOGIN, {'password': None}, ('password', 'api_key'), None),
    ('login-unknown-option', LOGIN, {'pasword': SECRET}, ('pasword',), None),
    ('credential-empty-api-key', CRED, {'api_key': ''}, ('api_key',), None),
    ('credential-api-key-with-newline', CRED, {'api_key': SECRET + '\n'}, ('api_key', 'white space'), None),
    ('credential-username-type-typo', CRED, {'username_type': 'bearer'}, ('username_type',), None),
    ('credential-unknown-region', CRED, {'regions': ['eu-mars']}, ('region', 'eu-mars'), None),
    ('credential-registry-with-path', CRED, {'registries': ['de.icr.io/ns']}, ('registries', 'path'), None),
    ('credential-bad-verify-access', CRED, {'verify_access': ['team-a/app']}, ('verify_access',), None),
    ('credential-bad-iam-endpoint', CRED, {'iam_endpoint': 'iam.example.com'}, ('iam_endpoint',), None),
    ('credential-timeout-negative', CRED, {'timeout': -1}, ('timeout',), None),
    ('credential-retries-negative', CRED, {'retries': -1}, ('retries',), None),
]


def task_for(name, module, args, path):
    if module == LOGIN:
        base = {'registries': ['reg.example.com'], 'password': '{{ secret }}', 'config_path': str(path)}
    else:
        base = {'api_key': '{{ secret }}', 'registries': ['reg.example.com'], 'iam_endpoint': 'http://127.0.0.1:9',
                'retries': 0, 'timeout': 1}
    for key, value in args.items():
        if value is None:
            base.pop(key, None)
        elif value in (SECRET, ' ' + SECRET, SECRET + '\n') or (isinstance(value, str) and SECRET[:10] in value):
            base[key] = '{{ %s }}' % ('v_' + name.replace('-', '_'))
        else:
            base[key] = value
    return {'name': name, module: base, 'ignore_errors': True}


@pytest.fixture(scope='module')
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('input')
    path = tmp / 'docker' / 'config.json'
    secrets = {'secret': SECRET}
    tasks = []
    for name, module, args, _words, _xfail in CASES:
        for value in args.values():
            if isinstance(value, str) and SECRET[:10] in value:
                secrets['v_' + name.replace('-', '_')] = value     # secrets only in the 0600 vars file
        tasks.append(task_for(name, module, args, path))
    run = run_play(tmp / 'play', tasks, secret_vars=secrets, env={'IBMCLOUD_API_KEY': '', 'IC_API_KEY': ''})
    return {'run': run, 'path': path}


def params():
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case[4])] if case[4] else []
        out.append(pytest.param(case, id=case[0], marks=marks))
    return out


@pytest.mark.parametrize('case', params())
def test_bad_value_fails_naming_the_option(batch, case):
    name, module, args, words, xfail = case
    res = batch['run'].result(name)
    result = res['result']
    msg = result.get('msg', '')
    if xfail:
        record('%s: %s' % (module.split('.')[-1], ', '.join('%s=%r' % kv for kv in args.items() if kv[1] is not None)),
               1, 'NOT HELD (xfail, reported): ' + xfail.split(': ', 1)[1], 'test_rel_input::test_bad_value_fails_naming_the_option[%s]' % name)
    assert res['status'] == 'failed', 'accepted: %s' % json.dumps(result)[:800]
    assert 'MODULE FAILURE' not in msg and 'Traceback' not in json.dumps(result), msg
    for word in words:
        assert word.lower() in msg.lower(), msg
    assert SECRET not in json.dumps(result) and SECRET[:10] not in msg
    assert not batch['path'].exists(), 'a failing case wrote the file'
    if not xfail:
        shown = ', '.join('%s=%r' % (k, ('<secret>' if isinstance(v, str) and SECRET[:10] in v else v))
                          for k, v in args.items() if v is not None) or 'the option left out'
        record('%s: %s' % (module.split('.')[-1], shown), 1, 'failed: "%s"' % (msg if len(msg) < 140 else msg[:137] + '...'),
               'test_rel_input::test_bad_value_fails_naming_the_option[%s]' % name)
