# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.icr.auth.plugins.module_utils._challenge import (
    bearer_challenge,
    is_loopback,
    parse_www_authenticate,
    realm_refusal,
)

pytest.importorskip('hypothesis', reason='hypothesis is not installed: add it to tests/unit/requirements.txt')
from hypothesis import HealthCheck, given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

# No example database (nothing written into the tree), no deadline.
PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize('header', [
    'Bearer realm="https://us.icr.io/oauth/token", service="registry"',
    'Bearer realm="https://us.icr.io/oauth/token",service="registry"',
    'bearer  realm = "https://us.icr.io/oauth/token" ,  service = registry',
    'Bearer service="registry", realm="https://us.icr.io/oauth/token"',
])
def test_icr_style_challenges(header):
    assert bearer_challenge(header) == ('https://us.icr.io/oauth/token', 'registry', None)


def test_scope_with_comma_inside_quotes_and_escapes():
    header = (r'Bearer realm="https://cp.icr.io/oauth/token", service="registry", '
              r'scope="repository:cp/a:pull,push", x="a\"b"')
    [(scheme, params)] = parse_www_authenticate(header)
    assert scheme == 'bearer'
    assert params == {'realm': 'https://cp.icr.io/oauth/token', 'service': 'registry',
                      'scope': 'repository:cp/a:pull,push', 'x': 'a"b'}


def test_several_challenges_in_one_header():
    header = 'Basic realm="basic", Bearer realm="https://r/token", service="s"'
    assert parse_www_authenticate(header) == [('basic', {'realm': 'basic'}),
                                              ('bearer', {'realm': 'https://r/token', 'service': 's'})]
    assert bearer_challenge(header) == ('https://r/token', 's', None)


@pytest.mark.parametrize('header', ['', 'Basic realm="x"', 'Bearer', 'Bearer service="s"', '"garbage'])
def test_no_usable_bearer_challenge(header):
    assert bearer_challenge(header) is None


@pytest.mark.parametrize('host,expected', [('127.0.0.1:5000', True), ('localhost', True), ('[::1]:5000', True),
                                           ('us.icr.io', False), ('127.0.0.1.example.com', False)])
def test_loopback(host, expected):
    assert is_loopback(host) is expected


# WWW-Authenticate: generate challenges, serialise them with random quoting and spacing, parse them back.

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
tokens = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=12)
# quoted-string content: visible ASCII, space and tab (RFC 9110 qdtext / quoted-pair), quotes and backslashes included
quoted_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e) | st.just('\t'), max_size=30)
ows = st.sampled_from(['', ' ', '  ', '\t', ' \t'])
rws = st.sampled_from([' ', '  ', '\t', ' \t '])


@st.composite
def challenge(draw, with_params=True):
    scheme = draw(tokens)
    names = draw(st.lists(tokens, min_size=1 if with_params else 0, max_size=5 if with_params else 0,
                          unique_by=lambda n: n.lower()))
    params = []
    for name in names:
        value_is_token = draw(st.booleans())
        value = draw(tokens) if value_is_token else draw(quoted_text)
        params.append((name, value, (not value_is_token) or draw(st.booleans())))
    return scheme, params


def quote(value, draw):
    out = []
    for char in value:
        if char in '"\\' or draw(st.integers(0, 9)) == 0:      # needed escapes, and now and then an unneeded one
            out.append('\\' + char)
        else:
            out.append(char)
    return '"' + ''.join(out) + '"'


@st.composite
def headers(draw):
    """(header text, expected parse) for one to three challenges; only the last may come without parameters."""
    challenges = draw(st.lists(challenge(), min_size=1, max_size=3))
    if draw(st.booleans()):
        challenges.append(draw(challenge(with_params=False)))
    parts = []
    for scheme, params in challenges:
        text = scheme
        if params:
            text += draw(rws)
            items = []
            for name, value, quoted in params:
                shown = quote(value, draw) if quoted else value
                items.append('%s%s=%s%s' % (name, draw(ows), draw(ows), shown))
            text += ''.join(item + (draw(ows) + ',' + draw(ows) if i < len(items) - 1 else '')
                            for i, item in enumerate(items))
        parts.append(text)
    header = draw(ows) + ''.join(p + (draw(ows) + ',' + draw(ows) if i < len(parts) - 1 else '')
                                 for i, p in enumerate(parts)) + draw(ows)
    expected = [(scheme.lower(), dict((n.lower(), v) for n, v, _q in params)) for scheme, params in challenges]
    return header, expected


@PROPS
@given(case=headers())
def test_www_authenticate_round_trip(case):
    header, expected = case
    assert parse_www_authenticate(header) == expected


@pytest.mark.parametrize('header', ['Negotiate, Bearer realm="https://us.icr.io/oauth/token", service="registry"',
                                    'NTLM, Negotiate, Bearer realm="https://r/token"'])
def test_parameterless_challenge_before_bearer(header):
    assert ('bearer', {'realm': header.split('realm="')[1].split('"')[0]}) in [
        (s, {'realm': p.get('realm')}) for s, p in parse_www_authenticate(header)]


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


@pytest.mark.parametrize('header, expected', [
    (None, []),
    ('', []),
    ('Negotiate, ', [('negotiate', {})]),
    ('Bearer "garbage', [('bearer', {})]),
])
def test_odd_headers_parse_to_what_they_hold(header, expected):
    assert parse_www_authenticate(header) == expected


def test_the_scope_a_challenge_names_is_returned():
    header = 'Bearer realm="https://us.icr.io/oauth/token",service="registry",scope="repository:a/b:pull"'
    assert bearer_challenge(header) == ('https://us.icr.io/oauth/token', 'registry', 'repository:a/b:pull')


NOT_SENT = "The registry at %s named the token service %r, which is not an http(s) URL; the credential was not sent."


@pytest.mark.parametrize('base, host, realm, msg', [
    ('https://registry.example.com', 'registry.example.com', 'ftp://auth.example.com/token?x=1',
     NOT_SENT % ('registry.example.com', 'ftp://auth.example.com/token')),
    ('https://registry.example.com', 'registry.example.com', 'https:///token',
     NOT_SENT % ('registry.example.com', 'https:///token')),
    ('https://registry.example.com', 'registry.example.com', 'http://[::1/token',
     NOT_SENT % ('registry.example.com', '<unparsable>')),
    ('https://us.icr.io', 'us.icr.io', 'http://us.icr.io/oauth/token?secret=1',
     'The registry at us.icr.io was reached over https but named a plain-http token service '
     '(http://us.icr.io/oauth/token); the credential was not sent there.'),
    ('http://127.0.0.1:5000', '127.0.0.1:5000', 'http://Auth.Example.com:80/token',
     'The registry at 127.0.0.1:5000 named a plain-http token service on another host (http://auth.example.com/token); '
     'the credential is only sent over http to loopback.'),
    ('https://us.icr.io:443', 'US.icr.io:443', 'https://evil.example.com/oauth/token#x',
     "The registry at US.icr.io:443 named a token service outside IBM Cloud Container Registry's domains "
     '(https://evil.example.com/oauth/token); the credential was not sent there.'),
    ('https://registry.ng.bluemix.net', 'registry.ng.bluemix.net', 'https://' + 'a' * 300 + '.example.com/t',
     "The registry at registry.ng.bluemix.net named a token service outside IBM Cloud Container Registry's domains "
     '(%s); the credential was not sent there.' % ('https://' + 'a' * 192)),
])
def test_a_refusal_names_the_registry_and_the_realm_without_its_query(base, host, realm, msg):
    assert realm_refusal(base, host, realm) == msg


@pytest.mark.parametrize('base, host, realm', [
    ('http://127.0.0.1:5000', '127.0.0.1:5000', 'http://[::1]:5001/token'),
    ('https://us.icr.io:443', 'us.icr.io:443', 'https://iam.bluemix.net/token'),
    ('https://registry.ng.bluemix.net', 'registry.ng.bluemix.net', 'https://US.ICR.IO/oauth/token'),
])
def test_realms_that_may_get_the_credential(base, host, realm):
    assert realm_refusal(base, host, realm) is None
