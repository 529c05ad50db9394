# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: malformed and hostile config files, through real ansible-playbook runs of icr_login.

All cases run in one play (one task per case, each on its own file, ignore_errors), then each case is its own
test below.  A case either fails with a clear message (no traceback, ``MODULE FAILURE`` never) and leaves the
file byte-identical with the same mode and owner, or does what docs/reliability.md documents.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys

import pytest

from playrunner import run_play
from rel_support import mode_of, record, snapshot, temp_leftovers

HOST = 'reg.example.com'
KEY = 'FileCaseKey0123456789'
AUTH = base64.b64encode(('iamapikey:' + KEY).encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def chattr(flag, path):
    return subprocess.run(['chattr', flag, str(path)], capture_output=True, text=True, check=False).returncode == 0


# Each case: setup(dir) -> config_path (and prepares the file); kind 'fail' (words in msg) or 'ok' (check(dir, result)).
CASES = {}


def case(name, kind, words=(), attack=None, held=None, xfail=None):
    def register(func):
        CASES[name] = {'setup': func, 'kind': kind, 'words': words, 'attack': attack or name, 'held': held, 'xfail': xfail}
        return func
    return register


def plain(content, name='config.json'):
    def setup(d):
        path = d / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        os.chmod(str(path), 0o600)
        return path
    return setup


for _name, _content, _words in [
        ('null', 'null', ('holds a JSON null', 'left unchanged')),
        ('json-list', '[{"auths": {}}]', ('holds a JSON array', 'must be a JSON object')),
        ('json-string', '"auths"', ('holds a JSON string',)),
        ('auths-list', '{"auths": []}', ('"auths" is a JSON array where a JSON object is expected',)),
        ('auths-string', '{"auths": "reg.example.com"}', ('"auths" is a JSON string',)),
        ('credHelpers-list', '{"credHelpers": ["pass"]}', ('"credHelpers" is a JSON array',)),
        ('credsStore-number', '{"credsStore": 5}', ('"credsStore" is a JSON number where a JSON string',)),
        ('entry-not-object', '{"auths": {"reg.example.com": "aWFtYXBpa2V5Omtl"}}',
         ('entry for reg.example.com in "auths" is a JSON string',)),
        ('truncated-json', '{"auths": {"reg.example.com": {"auth": "aWFt', ('is not valid JSON', 'left unchanged')),
        ('trailing-garbage', '{"auths": {}} {"auths": {}}', ('is not valid JSON',)),
        ('not-utf8', b'{"auths": {"r": {"email": "\xff\xfe"}}}', ('is not UTF-8',)),
        ('nul-bytes', b'\x00' * 64, ('is not valid JSON',))]:
    case(_name, 'fail', _words, attack='config.json holding ' + _name.replace('-', ' '))(plain(_content))


# The module runs on this test's Python (playrunner's ANSIBLE_PYTHON_INTERPRETER). Python 3.13's json reads 5000 nested
# arrays; 3.12 and older stop at the recursion limit, where the module fails with a clear message instead.
DEEP_PARSES = sys.version_info >= (3, 13)


@case('deeply-nested', 'ok' if DEEP_PARSES else 'fail', () if DEEP_PARSES else ('not valid JSON',),
      attack='config.json with an unknown key nested 5000 arrays deep (Docker accepts up to 10000)',
      held='Python 3.13+ reads it as Docker does: written, the nested key kept')
def _deep(d):
    return plain('{"x": ' + '[' * 5000 + ']' * 5000 + '}')(d)


@case('empty', 'ok', attack='empty config.json (0 bytes)', held='treated as an empty config, as Docker does: written, 0600 kept')
def _empty(d):
    return plain('')(d)


@case('blank', 'ok', attack='config.json of blanks and newlines', held='treated as an empty config and written')
def _blank(d):
    return plain(' \n\t\n')(d)


@case('auths-null', 'ok', attack='"auths": null', held='treated as no entries; the entry is added')
def _auths_null(d):
    return plain('{"auths": null, "keep": 1}')(d)


@case('bad-base64', 'ok', attack="our registry's auth is not base64",
      held='the unreadable entry is replaced (action "updated"); its other keys and every other key kept')
def _bad_b64(d):
    return plain(json.dumps({'auths': {HOST: {'auth': '!!!not base64!!!', 'email': 'kept@example.com'}}, 'keep': True}))(d)


@case('auth-without-colon', 'ok', attack="our registry's auth decodes to text without a colon",
      held='the unreadable entry is replaced (action "updated"); its other keys kept')
def _no_colon(d):
    return plain(json.dumps({'auths': {HOST: {'auth': b64('iamapikey' + KEY), 'email': 'kept@example.com'}}, 'keep': True}))(d)


@case('bom', 'ok', attack='config.json starting with a UTF-8 byte-order mark', held='read; written back without the BOM')
def _bom(d):
    return plain(b'\xef\xbb\xbf' + json.dumps({'keep': 'bom'}).encode())(d)


@case('ten-mb', 'ok', attack='10 MB config.json (40 000 other registries and a 5 MB unknown key)',
      held='read and rewritten in one run; every other entry and key kept byte for byte in meaning')
def _ten_mb(d):
    data = {'auths': dict(('m%05d.example.com' % i, {'auth': b64('u%05d:%s' % (i, 'p' * 80))}) for i in range(40000)),
            'x-big': 'b' * 5000000}
    return plain(json.dumps(data))(d)


@case('over-64mb', 'fail', ('larger than', 'left unchanged'), attack='config.json of 65 MB (sparse)')
def _huge(d):
    path = d / 'config.json'
    with open(str(path), 'wb') as handle:
        handle.truncate(65 * 1024 * 1024)
    os.chmod(str(path), 0o600)
    return path


@case('directory', 'fail', ('is not a regular file',), attack='config.json is a directory')
def _directory(d):
    path = d / 'config.json'
    path.mkdir()
    return path


@case('fifo', 'fail', ('is not a regular file',), attack='config.json is a FIFO (a read would block forever)')
def _fifo(d):
    path = d / 'config.json'
    os.mkfifo(str(path), 0o600)
    return path


@case('symlink-to-device', 'fail', ('is not a regular file',), attack='config.json is a symlink to /dev/zero')
def _device(d):
    path = d / 'config.json'
    path.symlink_to('/dev/zero')
    return path


@case('parent-is-file', 'fail', ('Cannot read', 'Not a directory'), attack='the directory of config.json is a file')
def _parent_file(d):
    (d / 'docker').write_text('not a dir')
    return d / 'docker' / 'config.json'


@case('symlink', 'ok', attack='config.json is a symlink to a file elsewhere (root-owned dirs)',
      held='followed like Docker: the target is rewritten, the link stays a link')
def _symlink(d):
    real = d / 'real' / 'docker-config.json'
    real.parent.mkdir()
    real.write_text(json.dumps({'auths': {'other.example.com': {'auth': b64('u:p')}}}))
    os.chmod(str(real), 0o600)
    (d / 'docker').mkdir()
    (d / 'docker' / 'config.json').symlink_to(real)
    return d / 'docker' / 'config.json'


@case('dangling-symlink', 'ok', attack='config.json is a dangling symlink (its target does not exist)',
      held='followed like Docker: the target file (and its directory) is created, 0600, the link kept')
def _dangling(d):
    (d / 'docker').mkdir()
    (d / 'docker' / 'config.json').symlink_to(d / 'elsewhere' / 'target.json')
    return d / 'docker' / 'config.json'


@case('read-only-0400', 'ok', attack='config.json is read-only (0400), root-owned',
      held='replaced by the atomic rename (a file mode does not stop a rename); the new file keeps mode 0400')
def _read_only(d):
    path = plain(json.dumps({'keep': 'ro'}))(d)
    os.chmod(str(path), 0o400)
    return path


@case('immutable-file', 'fail', ('Cannot write', 'Operation not permitted', 'left unchanged'),
      attack='config.json has the immutable attribute (chattr +i)')
def _immutable(d):
    path = plain(json.dumps({'keep': 'immutable'}))(d)
    if not chattr('+i', path):
        pytest.skip('chattr +i does not work here')
    return path


@case('immutable-dir', 'fail', ('Cannot write', 'Operation not permitted', 'left unchanged'),
      attack='the directory of config.json has the immutable attribute (chattr +i)')
def _immutable_dir(d):
    (d / 'docker').mkdir()
    path = plain(json.dumps({'keep': 'immutable dir'}))(d / 'docker')
    if not chattr('+i', d / 'docker'):
        pytest.skip('chattr +i does not work here')
    return path


@case('dir-of-unknown-uid', 'fail', ('uid 54321', 'no entry in the password database'),
      attack='config_path in a directory owned by a uid with no passwd entry')
def _unknown_uid(d):
    if os.geteuid() != 0:
        pytest.skip('giving a directory to another uid needs root')
    (d / 'orphan').mkdir()
    os.chown(str(d / 'orphan'), 54321, 54321)
    return d / 'orphan' / 'config.json'


def tree_of(directory):
    """Every entry below directory, by relative path, with its type (what a failed run must not add or remove)."""
    found = []
    for root, dirs, files in os.walk(str(directory)):
        for entry in dirs + files:
            full = os.path.join(root, entry)
            found.append((os.path.relpath(full, str(directory)), stat.S_IFMT(os.lstat(full).st_mode)))
    return sorted(found)


@pytest.fixture(scope='module')
def batch(tmp_path_factory):
    """Prepare every case, run one play with one icr_login task per case, and keep what each left behind."""
    top = tmp_path_factory.mktemp('hostile')
    prepared = {}
    tasks = []
    for name, spec in CASES.items():
        d = top / name
        d.mkdir()
        try:
            path = spec['setup'](d)
        except pytest.skip.Exception as exc:
            prepared[name] = {'skip': str(exc)}
            continue
        # The file, where its links lead, and the directory it would be written in (for a path that does not exist
        # yet, that directory, or the file standing in its place, is what must stay untouched).
        watched = [p for p in (path, pathlib.Path(os.path.realpath(str(path))), path.parent) if os.path.lexists(str(p))]
        prepared[name] = {'path': path, 'dir': d, 'before': dict((str(p), snapshot_quick(p)) for p in watched),
                          'tree_before': tree_of(d)}
        args = {'registries': [HOST], 'password': '{{ key }}', 'config_path': str(path)}
        tasks.append({'name': name, 'icr.auth.icr_login': args, 'ignore_errors': True})
    run = run_play(top / 'play', tasks, secret_vars={'key': KEY})
    for name, info in prepared.items():
        if 'skip' in info:
            continue
        info['result'] = run.result(name)
        info['after'] = dict((p, snapshot_quick(pathlib.Path(p))) for p in info['before'])
        info['tree_after'] = tree_of(info['dir'])
    yield {'run': run, 'cases': prepared}
    for name in ('immutable-file', 'immutable-dir'):
        info = prepared.get(name) or {}
        if 'path' in info:
            chattr('-i', info['path'])
            chattr('-i', info['path'].parent)
    shutil.rmtree(str(top), ignore_errors=True)


def snapshot_quick(path):
    """snapshot(), but a sparse 65 MB file is compared by size and a sample, not read whole."""
    st = os.lstat(str(path))
    if stat.S_ISREG(st.st_mode) and st.st_size > 64 * 1024 * 1024:
        with open(str(path), 'rb') as handle:
            return ('size', st.st_size, handle.read(4096), stat.S_IMODE(st.st_mode), st.st_uid)
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return ('special', stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid)
    return snapshot(path)


def auths_of(path):
    return json.loads(pathlib.Path(os.path.realpath(str(path))).read_text())['auths']


def case_params():
    params = []
    for name, spec in CASES.items():
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=spec['xfail'])] if spec['xfail'] else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.mark.parametrize('name', case_params())
def test_hostile_file(batch, name):
    spec = CASES[name]
    info = batch['cases'][name]
    if 'skip' in info:
        pytest.skip(info['skip'])
    res = info['result']['result']
    if spec['xfail']:
        record(spec['attack'], 1, 'NOT HELD (xfail, reported): %s' % spec['xfail'].split(': ', 1)[-1],
               'test_rel_files::test_hostile_file[%s]' % name)
    if spec['kind'] == 'fail':
        assert info['result']['status'] == 'failed'
        msg = res.get('msg', '')
        assert 'MODULE FAILURE' not in msg and 'Traceback' not in json.dumps(res), msg[:2000]
        for word in spec['words']:
            assert word in msg, msg
        named = (str(info['path'].parent), os.path.realpath(str(info['path'])))
        assert any(n in msg for n in named), msg   # names the file, its directory, or where its link leads
        # Something was there to stay untouched: at least the file itself, or what stands at its path.
        assert any(v is not None for v in info['before'].values()), info['before']
        assert info['after'] == info['before'], 'the file changed although the run failed'
        assert info['tree_after'] == info['tree_before'], 'a failed run created or removed something'
        assert temp_leftovers(info['path'].parent) == []
        assert KEY not in json.dumps(res)
        if not spec['xfail']:
            record(spec['attack'], 1, 'failed with a clear message naming the file ("%s"); file byte-identical, same '
                   'mode and owner; no temp file' % spec['words'][0], 'test_rel_files::test_hostile_file[%s]' % name)
        return
    assert info['result']['status'] == 'ok', res.get('msg')
    assert res['changed'] is True
    CHECKS[name](info, res)
    assert temp_leftovers(info['path'].parent) == []
    record(spec['attack'], 1, spec['held'], 'test_rel_files::test_hostile_file[%s]' % name)


def _check_written(info, res, action='added', mode=0o600):
    path = info['path']
    assert auths_of(path)[HOST]['auth'] == AUTH
    assert res['registries'] == {HOST: action}
    assert mode_of(os.path.realpath(str(path))) == mode


def _check_kept(info, res, action):
    _check_written(info, res, action)
    data = json.loads(info['path'].read_text())
    assert data['keep'] is True and data['auths'][HOST]['email'] == 'kept@example.com'


def _check_symlink(info, res):
    path = info['path']
    assert path.is_symlink() and snapshot(path) == info['before'][str(path)]    # the link itself untouched
    real = pathlib.Path(os.path.realpath(str(path)))
    assert res['config_path'] == str(real)
    assert set(auths_of(real)) == {'other.example.com', HOST}
    assert mode_of(real) == 0o600


def _check_dangling(info, res):
    path = info['path']
    assert path.is_symlink()
    target = info['dir'] / 'elsewhere' / 'target.json'
    assert target.is_file() and mode_of(target) == 0o600 and mode_of(target.parent) == 0o700
    assert auths_of(target) == {HOST: {'auth': AUTH}}


def _check_ten_mb(info, res):
    before = json.loads(info['before'][str(info['path'])][0])
    after = json.loads(info['path'].read_text())
    after_auths = after.pop('auths')
    assert after_auths.pop(HOST) == {'auth': AUTH}
    before_auths = before.pop('auths')
    # Every other registry's entry kept with its values, not only its name; every other key kept as it was.
    assert len(before_auths) >= 40000 and after_auths == before_auths
    assert after == before


CHECKS = {
    'empty': _check_written,
    'blank': _check_written,
    'auths-null': lambda info, res: (_check_written(info, res),
                                     json.loads(info['path'].read_text())['keep'] == 1 or pytest.fail('keep lost')),
    'bad-base64': lambda info, res: _check_kept(info, res, 'updated'),
    'auth-without-colon': lambda info, res: _check_kept(info, res, 'updated'),
    'bom': lambda info, res: (_check_written(info, res),
                              info['path'].read_bytes().startswith(b'{') or pytest.fail('BOM kept'),
                              json.loads(info['path'].read_text())['keep'] == 'bom' or pytest.fail('keep lost')),
    'ten-mb': _check_ten_mb,
    'symlink': _check_symlink,
    'dangling-symlink': _check_dangling,
    'read-only-0400': lambda info, res: _check_written(info, res, mode=0o400),
    'deeply-nested': lambda info, res: (_check_written(info, res),
                                        re.sub(r'\s', '', info['path'].read_text()).count('[') == 5000
                                        or pytest.fail('the nested key was not kept')),
}
