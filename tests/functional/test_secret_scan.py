# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared secret scanner finds every encoded form a leak could take, and does not cry wolf."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

import pytest

from secret_scan import assert_no_secret, find_secrets, json_unescape

KEY = 'T3stKeyT3stKeyT3stKeyT3stKeyT3stKeyT3st_-ab'
TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJpYW1faWQiOiJpYW0tMSJ9.c2lnbmF0dXJl'
SLASHY = 'a/b+c/d==e?f~g&h'


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def b64url(text):
    return base64.urlsafe_b64encode(text.encode() if isinstance(text, str) else text).decode().rstrip('=')


def hexed(text):
    return binascii.hexlify(text.encode() if isinstance(text, str) else text).decode()


def config_with(secret):
    return json.dumps({'auths': {'us.icr.io': {'auth': b64('iamapikey:' + secret)}}}, indent='\t')


def unicode_escaped(text):
    return ''.join('\\u%04x' % ord(c) for c in text)


FORMS = {
    'raw': lambda s: 'password=%s;' % s,
    'base64': lambda s: 'x %s y' % b64(s),
    'base64 of user:secret': lambda s: '"auth": "%s"' % b64('iamapikey:' + s),
    'base64url': lambda s: 'x %s y' % b64url('iambearer:' + s),
    'hex': lambda s: 'x %s y' % hexed(s),
    'HEX': lambda s: 'x %s y' % hexed(s).upper(),
    'json unicode escapes': lambda s: '{"v": "%s"}' % unicode_escaped(s),
    'json escaped slashes': lambda s: '{"v": "%s"}' % s.replace('/', '\\/'),
    'base64 inside a longer run': lambda s: 'AAAB' + b64('xyz' + s)[4:] + 'QQ',
    'base64 split in MIME lines': lambda s: '\n'.join(b64(s * 3)[i:i + 16] for i in range(0, len(b64(s * 3)), 16)),
    'base64 of the whole config (two levels)': lambda s: '{"b": "%s"}' % b64(config_with(s)),
    'hex of base64 (two levels)': lambda s: hexed(b64('iamapikey:' + s)),
    'base64 of escaped json (two levels)': lambda s: b64('{"v": "%s"}' % unicode_escaped(s)),
    'json escapes of base64 (escaped then decoded)': lambda s: '"%s"' % unicode_escaped(b64(s)),
}


@pytest.mark.parametrize('secret', [KEY, TOKEN, SLASHY])
@pytest.mark.parametrize('form', sorted(FORMS))
def test_every_encoded_form_is_found(form, secret):
    blob = FORMS[form](secret)
    assert secret not in blob or form in ('raw', 'json escaped slashes'), 'the form must hide the secret from a plain search'
    found = find_secrets(['unrelated-secret-value', secret], blob)
    assert [number for number, _length, _where in found] and all(number == 1 for number, _l, _w in found), (form, found)
    with pytest.raises(AssertionError) as err:
        assert_no_secret([secret], blob)
    assert secret not in str(err.value)  # the message names the secret's number and length only


def test_a_result_dict_is_scanned_as_json():
    result = {'changed': True, 'files': [{'config': b64(config_with(KEY))}], 'other': {'x': unicode_escaped(KEY)}}
    wheres = [where for _n, _l, where in find_secrets([KEY], result)]
    assert any('base64 > base64 > raw' in w for w in wheres), wheres
    assert any('json-escape' in w for w in wheres), wheres


def test_bytes_are_scanned():
    assert find_secrets([KEY], config_with(KEY).encode())


@pytest.mark.parametrize('secret', [KEY, TOKEN, SLASHY])
def test_fingerprints_and_unrelated_encodings_are_not_findings(secret):
    digest = hashlib.sha256(secret.encode()).hexdigest()
    blob = json.dumps({
        'secret': 'sha256:' + digest[:12], 'full': 'sha256:' + digest, 'b64_of_digest': b64(hashlib.sha256(secret.encode()).digest()),
        'other_auth': b64('iamapikey:' + 'Z9otherZ9otherZ9otherZ9otherZ9otherZ9other_x'),
        'text': 'The registry at us.icr.io accepted the iamapikey credential.', 'hex': hexed('nothing secret here at all'),
        'prefix': secret[:-1], 'suffix': secret[1:], 'b64_prefix': b64(secret[:-1]),
    })
    assert find_secrets([secret], blob) == []
    assert_no_secret([secret], blob, 'plain output with no secret', b'')


def test_three_levels_deep_is_out_of_reach_and_says_so_by_design():
    """DEPTH is two decodings: base64(base64(base64(secret))) is not looked into (documented limit)."""
    assert find_secrets([KEY], b64(b64(KEY)))
    assert find_secrets([KEY], b64(b64(b64(KEY)))) == []


def test_short_secrets_are_refused_and_empty_ones_skipped():
    with pytest.raises(ValueError):
        find_secrets(['short'], 'short')
    assert find_secrets([None, '', KEY], 'nothing') == []


def test_json_unescape():
    assert json_unescape('\\u0041\\/\\"\\\\\\ud83d\\ude00') == 'A/"\\\U0001F600'
