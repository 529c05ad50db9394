# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property tests (hypothesis): the config store against a model, and the WWW-Authenticate parser round trip."""

from __future__ import annotations

import json
import os
import stat
import tempfile

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _auth_file as auth_file
from ansible_collections.icr.auth.plugins.module_utils import _config_store as store
from ansible_collections.icr.auth.plugins.module_utils._credential import decode_auth, encode_auth
from ansible_collections.icr.auth.plugins.module_utils._registry import parse_www_authenticate
from ansible_collections.icr.auth.plugins.module_utils._target import Target

pytest.importorskip('hypothesis', reason='hypothesis is not installed: add it to tests/unit/requirements.txt')
from hypothesis import HealthCheck, given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

# No example database (nothing written into the tree), no deadline (real files are fsynced).
PROPS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# The config store: any sequence of add / remove on random hosts keeps every unknown key and ends in the model's set.

HOSTS = ['us.icr.io', 'de.icr.io', 'private.jp.icr.io', 'icr.io', 'registry.example.com:5000', '127.0.0.1:5000',
         '[::1]:5000', 'xn--bcher-kva.example']
RESERVED = ('auths', 'credHelpers', 'credsStore')

json_scalars = st.none() | st.booleans() | st.integers(min_value=-2 ** 63, max_value=2 ** 63) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
unknown_top = st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in RESERVED), json_values, max_size=5)
entry_extras = st.dictionaries(st.sampled_from(['email', 'serveraddress', 'x-note']), st.text(max_size=10), max_size=2)
usernames = st.sampled_from(['iamapikey', 'iambearer', 'iamrefresh'])
passwords = st.text(min_size=1, max_size=40)     # anything, colons and non-ASCII included
hosts_subset = st.lists(st.sampled_from(HOSTS), min_size=1, max_size=4, unique=True)
operation = st.one_of(
    st.tuples(st.just('add'), hosts_subset, usernames, passwords),
    st.tuples(st.just('remove'), hosts_subset),
)


@st.composite
def starting_files(draw):
    """(initial JSON object or None for no file, {host: (user, password)}, {host: extras})."""
    if draw(st.booleans()):
        return None, {}, {}
    data = dict(draw(unknown_top))
    creds, extras = {}, {}
    auths = {}
    for host in draw(st.lists(st.sampled_from(HOSTS), max_size=4, unique=True)):
        user, password, extra = draw(usernames), draw(passwords), draw(entry_extras)
        auths[host] = dict(extra, auth=encode_auth(user, password))
        creds[host], extras[host] = (user, password), extra
    data['auths'] = auths
    if draw(st.booleans()):
        data['credHelpers'] = {}
    return data, creds, extras


def expected_actions(op, creds):
    if op[0] == 'add':
        return dict((h, 'added' if h not in creds else ('unchanged' if creds[h] == (op[2], op[3]) else 'updated'))
                    for h in op[1])
    return dict((h, 'removed' if h in creds else 'unchanged') for h in op[1])


def plan_of(op):
    """The plan store.update() is given for one operation."""
    if op[0] == 'add':
        def plan(data):
            return auth_file.plan_present(data, op[1], op[2], op[3])
    else:
        def plan(data):
            return auth_file.plan_absent(data, op[1])
    return plan


@PROPS
@given(start=starting_files(), ops=st.lists(operation, min_size=1, max_size=8))
def test_any_add_remove_sequence_keeps_unknown_keys_and_ends_in_the_model(start, ops):
    initial, creds, extras = start
    creds, extras = dict(creds), dict(extras)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'docker', 'config.json')
        unknown = {}
        if initial is not None:
            os.mkdir(os.path.dirname(path), 0o700)
            with open(path, 'w') as handle:
                json.dump(initial, handle)
            os.chmod(path, 0o600)
            unknown = dict((k, v) for k, v in initial.items() if k != 'auths')
        target = Target(path, 'docker')
        for op in ops:
            want = expected_actions(op, creds)
            result = store.update(target, plan_of(op))
            assert result['actions'] == want
            assert result['changed'] == any(a != 'unchanged' for a in want.values())
            for host, action in want.items():
                if action == 'removed':
                    del creds[host]
                    extras.pop(host, None)
                elif action == 'added':
                    creds[host] = (op[2], op[3])
                    extras[host] = {}
                elif action == 'updated':
                    creds[host] = (op[2], op[3])
            if not os.path.exists(path):
                assert not creds and initial is None      # only a run that had something to write creates the file
                continue
            with open(path, 'rb') as handle:
                data = json.loads(handle.read().decode('utf-8'))
            assert dict((k, v) for k, v in data.items() if k != 'auths') == unknown
            assert set(data.get('auths') or {}) == set(creds)
            for host, cred in creds.items():
                entry = data['auths'][host]
                assert decode_auth(entry['auth']) == cred
                assert dict((k, v) for k, v in entry.items() if k != 'auth') == extras[host]
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert sorted(os.listdir(os.path.dirname(path))) == ['config.json']   # no temp file left


@PROPS
@given(start=starting_files(), hosts=hosts_subset, user=usernames, password=passwords)
def test_a_second_identical_run_changes_nothing_and_does_not_rewrite(start, hosts, user, password):
    initial, _creds, _extras = start
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'config.json')
        if initial is not None:
            with open(path, 'w') as handle:
                json.dump(initial, handle)
        target = Target(path, 'docker')
        store.update(target, lambda data: auth_file.plan_present(data, hosts, user, password))
        before = os.stat(path)
        with open(path, 'rb') as handle:
            content = handle.read()
        again = store.update(target, lambda data: auth_file.plan_present(data, hosts, user, password))
        assert again['changed'] is False and set(again['actions'].values()) == {'unchanged'}
        after = os.stat(path)
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)   # not even rewritten
        with open(path, 'rb') as handle:
            assert handle.read() == content


@PROPS
@given(user=usernames, password=passwords)
def test_auth_field_round_trip(user, password):
    assert decode_auth(encode_auth(user, password)) == (user, password)


# --------------------------------------------------------------------------------------------
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
