# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _credential as cred

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


def test_jwt_claims_reads_iam_claims():
    token = iam_token(iam_id='iam-ServiceId-x', account='b' * 32, now=1000, lifetime=60)
    claims = cred.jwt_claims(token)
    assert cred.token_identity(claims) == ('iam-ServiceId-x', 'b' * 32)
    assert cred.token_expiry(claims) == 1060


@pytest.mark.parametrize('value', [API_KEY, 'a.b', 'a.!!!.c', 'x.' + base64.urlsafe_b64encode(b'[1]').decode() + '.y', None, 42])
def test_jwt_claims_none_for_non_tokens(value):
    assert cred.jwt_claims(value) is None


def test_auth_round_trip_with_colon_in_password():
    encoded = cred.encode_auth('iamapikey', 'a:b')
    assert base64.b64decode(encoded) == b'iamapikey:a:b'
    assert cred.decode_auth(encoded) == ('iamapikey', 'a:b')


@pytest.mark.parametrize('value', ['', 'not base64!', base64.b64encode(b'nocolon').decode(), base64.b64encode(b'\xff\xfe:x').decode()])
def test_decode_auth_rejects_garbage(value):
    assert cred.decode_auth(value) is None


def test_fingerprint_is_short_stable_and_not_the_secret():
    fp = cred.fingerprint(API_KEY)
    assert fp == cred.fingerprint(API_KEY) and fp.startswith('sha256:') and len(fp) == 19
    assert API_KEY not in fp and fp != cred.fingerprint(API_KEY + 'x')


def test_iso8601():
    assert cred.iso8601(0) == '1970-01-01T00:00:00Z'
    assert cred.iso8601(None) is None


def test_still_current_rules():
    now = 10000
    old = iam_token(now=now, lifetime=3600)
    new = iam_token(now=now + 5, lifetime=3600)
    other = iam_token(iam_id='iam-ServiceId-other', now=now, lifetime=3600)
    other_account = iam_token(account='c' * 32, now=now, lifetime=3600)
    assert cred.still_current(('iamapikey', API_KEY), 'iamapikey', API_KEY, 600, now)
    assert not cred.still_current(('iamapikey', API_KEY), 'iamapikey', API_KEY + 'x', 600, now)
    assert not cred.still_current(('iambearer', API_KEY), 'iamapikey', API_KEY, 600, now)
    assert not cred.still_current(None, 'iamapikey', API_KEY, 600, now)
    # A still-valid bearer token of the same identity stays, unless it expires within min_validity.
    assert cred.still_current(('iambearer', old), 'iambearer', new, 600, now)
    assert not cred.still_current(('iambearer', old), 'iambearer', new, 3601, now)
    assert not cred.still_current(('iambearer', old), 'iambearer', other, 600, now)
    assert not cred.still_current(('iambearer', old), 'iambearer', other_account, 600, now)
    # Unknown new token (check mode): validity decides alone.
    assert cred.still_current(('iambearer', old), 'iambearer', None, 600, now)
    assert not cred.still_current(('iambearer', old), 'iambearer', None, 600, now + 3500)
    # Refresh tokens are opaque: only the same value stays.
    assert not cred.still_current(('iamrefresh', 'r1'), 'iamrefresh', 'r2', 0, now)
