# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_key_file: the store_to file is new, 0600, in a 0700 directory of the user, and never overwritten."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_key_file as kf
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError

VALUE = 'SecretValueSecretValueSecretValue_1234567'


def test_publish_writes_a_private_record(tmp_path):
    path = tmp_path / 'a' / 'b' / 'key.json'
    key_file = kf.KeyFile(str(path))
    key_file.publish({'name': 'n', 'id': 'ApiKey-1', 'iam_id': 'iam-x', 'apikey': VALUE, 'created_at': 't',
                      'other': 'dropped'})
    assert json.loads(path.read_text()) == {'name': 'n', 'id': 'ApiKey-1', 'iam_id': 'iam-x', 'apikey': VALUE,
                                            'created_at': 't'}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == ['key.json']
    assert kf.read_record(str(path)) == {'name': 'n', 'id': 'ApiKey-1', 'iam_id': 'iam-x', 'created_at': 't'}


def test_never_overwrites(tmp_path):
    path = tmp_path / 'key.json'
    path.write_text('{}')
    with pytest.raises(InputError, match='never overwritten'):
        kf.KeyFile(str(path))
    key_file = kf.KeyFile(str(tmp_path / 'k2.json'))
    (tmp_path / 'k2.json').write_text('raced')
    with pytest.raises(ConfigFileError, match='File exists'):
        key_file.publish({'id': 'x', 'apikey': VALUE})
    assert (tmp_path / 'k2.json').read_text() == 'raced' and sorted(os.listdir(tmp_path)) == ['k2.json', 'key.json']


def test_directory_checks(tmp_path):
    with pytest.raises(InputError, match='absolute path'):
        kf.check_directory('relative.json', create=False)
    open_dir = tmp_path / 'open'
    open_dir.mkdir()
    os.chmod(open_dir, 0o750)
    with pytest.raises(InputError, match='mode 0750'):
        kf.check_directory(str(open_dir / 'k.json'), create=True)
    assert kf.check_directory(str(tmp_path / 'new' / 'k.json'), create=False) == str(tmp_path / 'new')
    assert not (tmp_path / 'new').exists()
    (tmp_path / 'file').write_text('')
    with pytest.raises(InputError, match='not a directory'):
        kf.check_directory(str(tmp_path / 'file' / 'k.json'), create=True)


@pytest.mark.parametrize('content', ['not json', '[]', '{"name": "x"}', '{"id": "a"' + ' ' * 70000 + '}'])
def test_read_record_refuses_what_is_not_a_record_and_leaves_it(tmp_path, content):
    path = tmp_path / 'k.json'
    path.write_text(content)
    with pytest.raises(InputError, match='does not hold an API key record'):
        kf.read_record(str(path))
    assert path.read_text() == content


def test_read_record_never_returns_the_value(tmp_path):
    path = tmp_path / 'k.json'
    path.write_text(json.dumps({'id': 'a', 'apikey': VALUE}))
    assert kf.read_record(str(path)) == {'id': 'a'} and kf.read_record(str(tmp_path / 'none')) is None


def test_abort_removes_the_temp_file(tmp_path):
    key_file = kf.KeyFile(str(tmp_path / 'k.json'))
    assert len(os.listdir(tmp_path)) == 1
    key_file.abort()
    key_file.abort()
    assert os.listdir(tmp_path) == []
