# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _jwt as jwt

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token


def test_jwt_claims_reads_iam_claims():
    token = iam_token(iam_id='iam-ServiceId-x', account='b' * 32, now=1000, lifetime=60)
    claims = jwt.jwt_claims(token)
    assert jwt.token_identity(claims) == ('iam-ServiceId-x', 'b' * 32)
    assert jwt.token_expiry(claims) == 1060


@pytest.mark.parametrize('value', [API_KEY, 'a.b', 'a.!!!.c', 'x.' + base64.urlsafe_b64encode(b'[1]').decode() + '.y', None, 42])
def test_jwt_claims_none_for_non_tokens(value):
    assert jwt.jwt_claims(value) is None


def test_iso8601():
    assert jwt.iso8601(0) == '1970-01-01T00:00:00Z'
    assert jwt.iso8601(None) is None


@pytest.mark.parametrize('exp', [True, 'soon', float('inf'), float('nan'), -1, jwt.MAX_EPOCH, None])
def test_token_expiry_none_for_what_no_token_can_have(exp):
    assert jwt.token_expiry({'exp': exp}) is None


def test_token_identity_falls_back_to_sub_and_tolerates_a_bad_account():
    assert jwt.token_identity({'sub': 'iam-x', 'account': 'not a dict'}) == ('iam-x', None)
    assert jwt.token_identity(None) == (None, None)


@pytest.mark.parametrize('exp', [float('inf'), float('-inf'), float('nan'), 1e300, -5, 10 ** 20])
def test_impossible_expiries_are_no_expiry(exp):
    assert jwt.token_expiry({'exp': exp}) is None
