# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""verify() against scripted registries: what it proves must not depend on the token's format or the realm's status."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._access import verify
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.registry_fakes import GOOD, HOST, OPTS, Registry

STYLES = [dict(token=t, denial=d, bad_status=s) for t, d, s in [
    ('opaque-token', 'scope', 400), ('a.b.c', 'scope', 401), ('opaque-token', 'realm-401', 401),
    ('opaque-token', 'realm-403', 400)]]


@pytest.mark.parametrize('style', STYLES)
def test_reader_pull_ok_push_missing(style):
    session = Registry({'team-a/app': ('pull',)}, **style)
    ok = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull'])
    assert ok.ok and ok.granted == {'team-a/app': ['pull']}, ok.msg
    push = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull,push'])
    assert not push.ok and push.reason == 'permission' and 'do not grant push on team-a/app' in push.msg, push.msg


@pytest.mark.parametrize('style', STYLES)
def test_wrong_key_is_a_credential_problem(style):
    session = Registry({'team-a/app': ('pull',)}, **style)
    wrong = verify(session, OPTS, HOST, 'iamapikey', 'x' * 44, ['repository:team-a/app:pull'])
    assert not wrong.ok and wrong.reason == 'credential' and wrong.status == style['bad_status'], wrong.msg


@pytest.mark.parametrize('style', STYLES)
def test_no_policy_is_a_permission_problem(style):
    session = Registry({}, **style)
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:pull'])
    assert not result.ok and result.reason == 'permission', result.msg


def test_a_token_that_claims_everything_proves_nothing():
    """A JWT whose access claim grants push (as an echoing realm would) does not make a missing push permission ok."""
    import base64
    import json
    claims = base64.urlsafe_b64encode(json.dumps({'access': [{'type': 'repository', 'name': 'team-a/app',
                                                              'actions': ['pull', 'push']}]}).encode()).decode().rstrip('=')
    session = Registry({'team-a/app': ('pull',)}, token='eyJhbGciOiJub25lIn0.%s.sig' % claims)
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/app:push'])
    assert not result.ok and result.reason == 'permission'


def test_missing_repository_is_allowed_and_the_push_probe_is_cancelled():
    session = Registry({'team-a/new': ('pull', 'push')})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD, ['repository:team-a/new:pull,push'])
    assert result.ok and result.granted == {'team-a/new': ['pull', 'push']} and 'no such repository yet' in result.msg
    assert ('DELETE', 'https://%s/v2/team-a/new/blobs/uploads/u1' % HOST, None) in session.calls


def test_without_scopes_nothing_is_probed():
    session = Registry({})
    result = verify(session, OPTS, HOST, 'iamapikey', GOOD)
    assert result.ok
    assert [c[0] for c in session.calls] == ['GET', 'GET']


def test_messages_name_a_trusted_profile_login_as_the_profile():
    profile = 'Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77'
    session = Registry({'team-a/app': ('pull',)}, token='opaque-token', denial='scope', bad_status=400)
    ok = verify(session, OPTS, HOST, profile, GOOD, ['repository:team-a/app:pull'])
    assert ok.ok and f'accepted the trusted profile {profile} credential and grants' in ok.msg, ok.msg
    push = verify(session, OPTS, HOST, profile, GOOD, ['repository:team-a/app:pull,push'])
    assert not push.ok and f'accepted the trusted profile {profile} credential, but' in push.msg, push.msg
