# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry handshake without scopes: what icr_login proves before it writes."""

from __future__ import annotations

import base64
from ansible_collections.icr.auth.plugins.module_utils._registry import Verification, handshake, mask, verify
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.registry_fakes import (
    CHALLENGE,
    GOOD,
    HOST,
    OPTS,
    REALM,
    Answer,
    Registry,
)


def test_without_scopes_nothing_is_probed():
    session = Registry({})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD)
    assert result.ok
    assert [c[0] for c in session.calls] == ['GET', 'GET']
    assert session.calls[1][2] == [('service', 'registry'), ('account', 'iamapikey'), ('client_id', 'icr.auth')]


def test_a_wrong_key_is_refused_and_never_shown():
    result = verify(Registry({}), OPTS, HOST, 'iamapikey', 'x' * 44)
    assert not result.ok and result.reason == 'credential' and result.status == 400 and 'x' * 44 not in result.msg


def test_handshake_names_the_realm_or_ends_the_proof():
    assert handshake(Registry({}), OPTS, HOST, 'iamapikey', GOOD) == ('https://' + HOST, REALM, 'registry')

    class Open(object):
        def get(self, url, **kwargs):
            return Answer(200)

    done = handshake(Open(), OPTS, HOST, 'iamapikey', GOOD)
    assert isinstance(done, Verification) and done.ok and done.msg == f'The registry at {HOST} asks for no credential.'

    class Elsewhere(object):
        def get(self, url, **kwargs):
            return Answer(401, {}, {'WWW-Authenticate': CHALLENGE.replace('us.icr.io', 'evil.example.com')})

    refused = handshake(Elsewhere(), OPTS, HOST, 'iamapikey', GOOD)
    assert not refused.ok and refused.reason == 'protocol' and 'outside IBM Cloud Container Registry' in refused.msg


def test_mask_hides_the_secret_and_its_basic_forms():
    text = mask(f'echo {GOOD} and Basic aWFtYXBpa2V5Okdvb2Q=', 'iamapikey', GOOD)
    assert GOOD not in text and text == 'echo ******** and Basic ********'


KEY = 'UnitHostileKey0123456789'


def test_mask_hides_the_secret_in_every_form():
    b64 = base64.b64encode(('iamapikey:' + KEY).encode()).decode()
    text = 'echo: Authorization: Basic %s; raw %s; b64 %s; other basic Zm9vOmJhcg==' % (
        b64, KEY, base64.b64encode(KEY.encode()).decode())
    out = mask(text, 'iamapikey', KEY)
    assert KEY not in out and b64 not in out and 'Zm9vOmJhcg==' not in out
    assert out.count('********') >= 4


PROFILE = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'


def test_a_trusted_profile_login_is_sent_as_the_profile_and_a_refusal_names_the_trust():
    session = Registry({})
    assert verify(session, OPTS, HOST, PROFILE, GOOD).msg == f'The registry at {HOST} accepted the trusted profile ' \
                                                             f'{PROFILE} credential.'
    assert session.calls[1][2][-2:] == [('account', PROFILE), ('client_id', 'icr.auth')]
    refused = verify(Registry({}), OPTS, HOST, PROFILE, 'x' * 44)
    assert not refused.ok and refused.reason == 'credential' and 'x' * 44 not in refused.msg
    assert f'the trusted profile {PROFILE} does not exist, or it does not trust the service ID of this API key' \
           in refused.msg
    assert 'username type does not match' in verify(Registry({}), OPTS, HOST, 'iamapikey', 'x' * 44).msg
