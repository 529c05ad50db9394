# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _credential as cred

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

pytest.importorskip('hypothesis', reason='hypothesis is not installed: add it to tests/unit/requirements.txt')
from hypothesis import HealthCheck, given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

# No example database (nothing written into the tree), no deadline.
PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


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


# The auth field of a config entry: any username and password, colons and non-ASCII included, round-trip.

usernames = st.sampled_from(['iamapikey', 'iambearer', 'iamrefresh'])
passwords = st.text(min_size=1, max_size=40)     # anything, colons and non-ASCII included


@PROPS
@given(user=usernames, password=passwords)
def test_auth_field_round_trip(user, password):
    assert cred.decode_auth(cred.encode_auth(user, password)) == (user, password)


def test_fingerprint_of_odd_secrets():
    assert cred.fingerprint(5).startswith('sha256:')
    assert cred.fingerprint(['x']).startswith('sha256:')
    assert cred.fingerprint(json.loads('"\\ud800"')).startswith('sha256:')


def test_jwt_claims_reads_iam_claims():
    token = iam_token(iam_id='iam-ServiceId-x', account='b' * 32, now=1000, lifetime=60)
    claims = cred.jwt_claims(token)
    assert cred.token_identity(claims) == ('iam-ServiceId-x', 'b' * 32)
    assert cred.token_expiry(claims) == 1060


@pytest.mark.parametrize('value', [API_KEY, 'a.b', 'a.!!!.c', 'x.' + base64.urlsafe_b64encode(b'[1]').decode() + '.y', None, 42])
def test_jwt_claims_none_for_non_tokens(value):
    assert cred.jwt_claims(value) is None


def test_iso8601():
    assert cred.iso8601(0) == '1970-01-01T00:00:00Z'
    assert cred.iso8601(None) is None


@pytest.mark.parametrize('exp', [True, 'soon', float('inf'), float('nan'), -1, cred.MAX_EPOCH, None])
def test_token_expiry_none_for_what_no_token_can_have(exp):
    assert cred.token_expiry({'exp': exp}) is None


def test_token_identity_falls_back_to_sub_and_tolerates_a_bad_account():
    assert cred.token_identity({'sub': 'iam-x', 'account': 'not a dict'}) == ('iam-x', None)
    assert cred.token_identity(None) == (None, None)


@pytest.mark.parametrize('exp', [float('inf'), float('-inf'), float('nan'), 1e300, -5, 10 ** 20])
def test_impossible_expiries_are_no_expiry(exp):
    assert cred.token_expiry({'exp': exp}) is None


def test_iso8601_is_in_utc_whatever_the_local_zone(monkeypatch):
    import time
    monkeypatch.setenv('TZ', 'EST+5')  # a POSIX zone: needs no zone database
    time.tzset()
    try:
        assert cred.iso8601(1700000000.9) == '2023-11-14T22:13:20Z'
    finally:
        monkeypatch.undo()
        time.tzset()


def test_token_identity_prefers_iam_id_to_sub():
    claims = {'iam_id': 'iam-ServiceId-x', 'sub': 'iam-other', 'account': {'bss': 'acct'}}
    assert cred.token_identity(claims) == ('iam-ServiceId-x', 'acct')


@pytest.mark.parametrize('exp, expected', [(0, 0), (1060.9, 1060), (1060, 1060),
                                           (cred.MAX_EPOCH - 1, cred.MAX_EPOCH - 1)])
def test_token_expiry_of_possible_expiries(exp, expected):
    assert cred.token_expiry({'exp': exp}) == expected


@pytest.mark.parametrize('claims', [{'a': 1}, {'ab': 1}, {'abcd': 1}, {'a': 'bcdefghij'}, {'abc': 'bcdefghij'}])
def test_jwt_claims_reads_payloads_of_every_length(claims):
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(',', ':')).encode()).rstrip(b'=').decode()
    assert cred.jwt_claims('h.%s.s' % payload) == claims


def test_fingerprint_tells_other_secrets_apart_and_ignores_key_order():
    assert cred.fingerprint(5) != cred.fingerprint(6) != cred.fingerprint(['x'])
    assert cred.fingerprint({'a': 1, 'b': 2}) == cred.fingerprint({'b': 2, 'a': 1})


@pytest.mark.parametrize('value', [5, b'aWFtYXBpa2V5Ong=', ['aWFtYXBpa2V5Ong='], 'aWFtYXBp!a2V5Ong=',
                                   'aWFtYXBpa2V5Ong=\x00'])
def test_decode_auth_rejects_what_is_not_base64_text(value):
    assert cred.decode_auth('aWFtYXBpa2V5Ong=') == ('iamapikey', 'x')
    assert cred.decode_auth(value) is None
