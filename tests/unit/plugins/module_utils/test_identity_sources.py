# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_identity_sources and _identity_base: the registry of identity sources, cache keys and token answers."""

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _identity_base as base
from ansible_collections.icr.auth.plugins.module_utils import _identity_sources as sources
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError
from ansible_collections.icr.auth.plugins.module_utils._helper_config import IDENTITIES, validate

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import FakeTransport
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

NOW = 1700000000


def test_every_identity_the_configuration_accepts_has_a_source():
    assert sources.IDENTITY_SOURCES == IDENTITIES


@pytest.mark.parametrize('name', IDENTITIES)
def test_source_returns_the_class_of_the_name(name):
    extra = {'profile_id': 'P'} if name == 'compute_resource' else {}
    identity = sources.source(validate(dict({'identity': name}, **extra)), FakeTransport())
    assert identity.name == name


def test_the_source_asks_iam_through_the_transport_it_is_given(tmp_path):
    path = tmp_path / 'apikey'
    path.write_text(API_KEY)
    path.chmod(0o600)
    conf = validate({'identity': 'api_key_file', 'api_key_file': str(path), 'iam_endpoint': 'https://iam.example.test'})
    transport = FakeTransport((200, {'access_token': iam_token(now=NOW, lifetime=600)}))
    assert sources.source(conf, transport).fetch().expires_at == NOW + 600
    asked = [(r['method'], r['url']) for r in transport.requests]
    assert asked == [('POST', 'https://iam.example.test/identity/token')]


def test_an_unknown_name_is_refused():
    with pytest.raises(InputError) as caught:
        sources.source({'identity': 'magic'}, FakeTransport())
    assert caught.value.msg == "identity: 'magic' is none of vpc_trusted_profile, compute_resource, api_key_file."


def test_access_token_reads_the_jwt_expiry_then_the_answer():
    token = base.access_token({'access_token': iam_token(now=NOW, lifetime=600), 'expires_in': 3600}, now=NOW + 1)
    assert (token.expires_at, token.issued_at) == (NOW + 600, NOW + 1)
    token = base.access_token({'access_token': 'opaque', 'expires_in': 100}, now=NOW)
    assert token.token == 'opaque' and token.expires_at >= NOW + 100


def test_cache_keys_differ_by_identity_and_endpoint_but_not_by_connection_options(tmp_path):
    def key(**conf):
        return sources.source(validate(dict({'identity': 'api_key_file'}, **conf)), FakeTransport()).cache_key()
    assert key() == key(timeout=30, retries=0, refresh_share=0.5)
    assert key() != key(iam_endpoint='private')
    assert key() != key(api_key_file=str(tmp_path / 'other'))
    assert len(set(key(api_key_file=f'/k/{i}') for i in range(20))) == 20


def test_the_cache_key_never_depends_on_the_key_itself(tmp_path):
    path = tmp_path / 'k'
    conf = validate({'identity': 'api_key_file', 'api_key_file': str(path)})
    path.write_text(API_KEY)
    first = sources.source(conf, FakeTransport()).cache_key()
    path.write_text('another-key-value-entirely-0123456789')
    assert sources.source(conf, FakeTransport()).cache_key() == first
    assert API_KEY not in first
