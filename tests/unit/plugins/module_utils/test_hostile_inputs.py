# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure pieces of the hostile-user and hostile-registry fixes: realms, masking, expiries, fingerprints.

The config-store pieces (limits, lookups, paths) are in test_auth_file.py and test_privilege.py."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils._credential import fingerprint, token_expiry
from ansible_collections.icr.auth.plugins.module_utils._registry import mask, realm_refusal

KEY = 'UnitHostileKey0123456789'


@pytest.mark.parametrize('base,host,realm,refused', [
    ('https://us.icr.io', 'us.icr.io', 'https://us.icr.io/oauth/token', False),
    ('https://us.icr.io', 'us.icr.io', 'http://us.icr.io/oauth/token', True),
    ('https://us.icr.io', 'us.icr.io', 'https://evil.example.com/oauth/token', True),
    ('https://us.icr.io', 'us.icr.io', 'https://icr.io.evil.example.com/oauth/token', True),
    ('https://de.icr.io', 'de.icr.io', 'https://icr.io/oauth/token', False),
    ('http://127.0.0.1:5000', '127.0.0.1:5000', 'http://127.0.0.1:5001/oauth/token', False),
    ('http://127.0.0.1:5000', '127.0.0.1:5000', 'http://localhost/oauth/token', False),
    ('http://127.0.0.1:5000', '127.0.0.1:5000', 'http://203.0.113.9/oauth/token', True),
    ('https://127.0.0.1:5000', '127.0.0.1:5000', 'http://127.0.0.1:5001/oauth/token', True),
    ('https://registry.example.com', 'registry.example.com', 'https://auth.example.com/token', False),
    ('https://registry.example.com', 'registry.example.com', 'ftp://auth.example.com/token', True),
    ('https://registry.example.com', 'registry.example.com', 'token', True),
])
def test_realm_refusal(base, host, realm, refused):
    assert bool(realm_refusal(base, host, realm)) is refused


def test_mask_hides_the_secret_in_every_form():
    b64 = base64.b64encode(('iamapikey:' + KEY).encode()).decode()
    text = 'echo: Authorization: Basic %s; raw %s; b64 %s; other basic Zm9vOmJhcg==' % (
        b64, KEY, base64.b64encode(KEY.encode()).decode())
    out = mask(text, 'iamapikey', KEY)
    assert KEY not in out and b64 not in out and 'Zm9vOmJhcg==' not in out
    assert out.count('********') >= 4


@pytest.mark.parametrize('exp', [float('inf'), float('-inf'), float('nan'), 1e300, -5, 10 ** 20])
def test_impossible_expiries_are_no_expiry(exp):
    assert token_expiry({'exp': exp}) is None


def test_fingerprint_of_odd_secrets():
    assert fingerprint(5).startswith('sha256:')
    assert fingerprint(['x']).startswith('sha256:')
    assert fingerprint(json.loads('"\\ud800"')).startswith('sha256:')
