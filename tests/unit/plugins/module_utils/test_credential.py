# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _credential as cred
from ansible_collections.icr.auth.plugins.module_utils._username_types import still_current

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY


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


def test_still_current_is_the_username_types_answer():
    """The auth-file code asks _credential; each username type answers (see test_username_types.py)."""
    assert cred.still_current is still_current
    assert cred.USERNAME_TYPES == ('iamapikey', 'iambearer', 'iamrefresh')
