# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _credential as cred
from ansible_collections.icr.auth.plugins.module_utils._username_types import still_current

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY

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


def test_still_current_is_the_username_types_answer():
    """The auth-file code asks _credential; each username type answers (see test_username_types.py)."""
    assert cred.still_current is still_current
    assert cred.USERNAME_TYPES == ('iamapikey', 'iambearer', 'iamrefresh')


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
