# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._challenge import bearer_challenge, is_loopback, parse_www_authenticate


@pytest.mark.parametrize('header', [
    'Bearer realm="https://us.icr.io/oauth/token", service="registry"',
    'Bearer realm="https://us.icr.io/oauth/token",service="registry"',
    'bearer  realm = "https://us.icr.io/oauth/token" ,  service = registry',
    'Bearer service="registry", realm="https://us.icr.io/oauth/token"',
])
def test_icr_style_challenges(header):
    assert bearer_challenge(header) == ('https://us.icr.io/oauth/token', 'registry', None)


def test_scope_with_comma_inside_quotes_and_escapes():
    header = r'Bearer realm="https://cp.icr.io/oauth/token", service="registry", scope="repository:cp/a:pull,push", x="a\"b"'
    [(scheme, params)] = parse_www_authenticate(header)
    assert scheme == 'bearer'
    assert params == {'realm': 'https://cp.icr.io/oauth/token', 'service': 'registry',
                      'scope': 'repository:cp/a:pull,push', 'x': 'a"b'}


def test_several_challenges_in_one_header():
    header = 'Basic realm="basic", Bearer realm="https://r/token", service="s"'
    assert parse_www_authenticate(header) == [('basic', {'realm': 'basic'}), ('bearer', {'realm': 'https://r/token', 'service': 's'})]
    assert bearer_challenge(header) == ('https://r/token', 's', None)


@pytest.mark.parametrize('header', ['', 'Basic realm="x"', 'Bearer', 'Bearer service="s"', '"garbage'])
def test_no_usable_bearer_challenge(header):
    assert bearer_challenge(header) is None


@pytest.mark.parametrize('host,expected', [('127.0.0.1:5000', True), ('localhost', True), ('[::1]:5000', True),
                                           ('us.icr.io', False), ('127.0.0.1.example.com', False)])
def test_loopback(host, expected):
    assert is_loopback(host) is expected
