# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One secret scanner for every test: finds a secret raw, JSON-escaped, or inside base64, base64url and hex.

A test hands it the secrets and whatever a run produced (output text, a result dict, a file's bytes). The blob is
searched as it is, with JSON string escapes undone (\\uXXXX, \\/, \\\\, \\"), and inside every run of base64,
base64url or hex, decoded, two levels deep (base64 of a config file whose ``auth`` is base64 of ``user:secret`` is
found). A finding names the secret by its number and length and says where it was found, never the secret itself.

    from secret_scan import assert_no_secret, find_secrets
    assert_no_secret([api_key, token], run.text, result_dict)
"""

from __future__ import annotations

import base64
import binascii
import json
import re

MIN_SECRET = 8
DEPTH = 2
# Runs shorter than these cannot hold a secret of MIN_SECRET characters.
_B64_RUN = re.compile(r'(?:[A-Za-z0-9+/]{4}(?:\r?\n|\\n)?){3,}[A-Za-z0-9+/]*={0,2}')
_B64URL_RUN = re.compile(r'[A-Za-z0-9_-]{12,}={0,2}')
_HEX_RUN = re.compile(r'[0-9a-fA-F]{16,}')
_UNICODE_ESCAPE = re.compile(r'\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})')
_SIMPLE_ESCAPES = {'\\/': '/', '\\"': '"', '\\\\': '\\', '\\n': '\n', '\\t': '\t', '\\r': '\r', '\\b': '\b', '\\f': '\f'}
_SIMPLE_RE = re.compile(r'\\[/"\\ntrbf]')


def _text(blob):
    if isinstance(blob, bytes):
        return blob.decode('utf-8', 'replace')
    if isinstance(blob, str):
        return blob
    return json.dumps(blob, sort_keys=True)


def json_unescape(text):
    """text with JSON string escapes undone (wherever they are: the text need not be valid JSON)."""
    def unicode_char(match):
        if match.group(3):
            return chr(int(match.group(3), 16))
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    text = _UNICODE_ESCAPE.sub(unicode_char, text)
    return _SIMPLE_RE.sub(lambda m: _SIMPLE_ESCAPES[m.group(0)], text)


def _b64_decode(run, altchars):
    """Decodings of a base64 run at each of the 4 alignments (the run may start inside a longer one)."""
    run = re.sub(r'\r?\n|\\n', '', run).rstrip('=')
    out = []
    for offset in range(4):
        part = run[offset:]
        part = part[:len(part) - len(part) % 4] if len(part) % 4 == 1 else part
        if len(part) < 8:
            continue
        try:
            raw = base64.b64decode(part + '=' * (-len(part) % 4), altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        out.append(raw)
    return out


def _hex_decode(run):
    out = []
    for offset in (0, 1):
        part = run[offset:]
        part = part[:len(part) - len(part) % 2]
        try:
            out.append(binascii.unhexlify(part))
        except (binascii.Error, ValueError):
            continue
    return out


def _decodings(text):
    """(how, decoded text) of every base64, base64url and hex run of text."""
    seen = set()
    for how, pattern, decode in (('base64', _B64_RUN, lambda r: _b64_decode(r, None)),
                                 ('base64url', _B64URL_RUN, lambda r: _b64_decode(r, b'-_')),
                                 ('hex', _HEX_RUN, _hex_decode)):
        for match in pattern.finditer(text):
            for raw in decode(match.group(0)):
                if raw in seen:
                    continue
                seen.add(raw)
                yield how, raw.decode('utf-8', 'replace')


def _scan(secrets, text, trail, depth, findings):
    for variant, how in ((text, None), (json_unescape(text), 'json-escape')):
        if how and variant == text:
            continue
        where = trail + ([how] if how else [])
        for number, secret in enumerate(secrets):
            if secret in variant:
                findings.append((number, len(secret), ' > '.join(where + ['raw'])))
        if depth < DEPTH:
            for kind, decoded in _decodings(variant):
                _scan(secrets, decoded, where + [kind], depth + 1, findings)


def find_secrets(secrets, *blobs):
    """Where each secret occurs in the blobs: a sorted list of (secret number, its length, 'decoding > ... > raw').

    secrets: strings of MIN_SECRET characters or more (a shorter one would match by chance); None and '' are skipped.
    blobs: str, bytes, or anything json.dumps takes (a result dict).
    """
    wanted = [s for s in secrets if s]
    for secret in wanted:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET:
            raise ValueError('secret_scan: a secret must be a string of %d characters or more' % MIN_SECRET)
    findings = []
    for index, blob in enumerate(blobs):
        _scan(wanted, _text(blob), ['blob %d' % index], 0, findings)
    return sorted(set(findings))


def assert_no_secret(secrets, *blobs):
    found = find_secrets(secrets, *blobs)
    assert not found, 'secret found (number, length, where): %s' % found
