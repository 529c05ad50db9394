# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The variants of IBM's behaviour the credential and permission cases run under (tests/emulator/README.md: Variants).

IBM documents neither the registry token's format, nor where a valid key without access is refused, and its docs
(400) and the field (401) disagree on the status of a bad credential. Each row below is one plausible IBM; together
they give every value of every switch at least once, and the two hard pairs: a realm that answers 401 both to a
wrong key and to a missing permission, and tokens that say nothing (opaque) or too much (echoing the scope).
Kept small on purpose: the suites run each case under each row.
"""

from __future__ import annotations

VARIANTS = {
    # What IBM's docs say, and what the emulator does by default.
    'documented': {'token_style': 'jwt', 'denial': 'scope', 'bad_credential_status': 400},
    # A realm that refuses a missing permission with the status of a wrong key (both 401, as seen in the field).
    'realm401': {'token_style': 'jwt', 'denial': 'realm-401', 'bad_credential_status': 401},
    # A token that echoes whatever scope was asked for; the realm denies with 403.
    'echo-realm403': {'token_style': 'jwt-echo', 'denial': 'realm-403', 'bad_credential_status': 400},
    # An opaque token; access refused only at /v2/; bad credentials 401.
    'opaque-401': {'token_style': 'opaque', 'denial': 'scope', 'bad_credential_status': 401},
}
NAMES = list(VARIANTS)
TYPES = ('iamapikey', 'iambearer', 'iamrefresh')


def needs_front(name):
    """Whether a real registry must sit behind the emulator's /v2/ (distribution can only read filtered JWTs)."""
    return VARIANTS[name]['token_style'] != 'jwt'


def apply(emu, name, **extra):
    """Switch the emulator to a variant (after its per-test reset)."""
    values = dict(VARIANTS[name])
    values.update(extra)
    emu.set_variants(**values)
    return values


def with_types(names=None):
    """(variant, username type) pairs: every type under the documented variant, one type (rotating) under each other.

    Every username type meets every kind of variant at least once across the suites, without a full product.
    """
    names = list(names or NAMES)
    pairs = [('documented', kind) for kind in TYPES] if 'documented' in names else []
    others = [n for n in names if n != 'documented']
    pairs += [(name, TYPES[(index + 1) % len(TYPES)]) for index, name in enumerate(others)]
    return pairs


def pair_ids(names=None):
    """Test ids of with_types(names), such as documented-iambearer."""
    return ['%s-%s' % pair for pair in with_types(names)]
