# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_key_file: the store_to file is new, 0600, in a 0700 directory of the user, and never overwritten; the key of a
key file (a JSON record's apikey, or the key alone as check_key takes it), with messages that never hold it."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_key_file as kf
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

VALUE = 'SecretValueSecretValueSecretValue_1234567'
TOKEN = iam_token()


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


@pytest.mark.parametrize('data, record', [
    (b'{"id": "a"}', {'id': 'a'}),
    (b' \n{"id": "a"}\n', {'id': 'a'}),
    (b'{"id": "a"' + b' ' * (kf.MAX_SIZE - 11) + b'}', {'id': 'a'}),
    (b'{"id": "a"' + b' ' * (kf.MAX_SIZE - 10) + b'}', None),
    (b'[]', None), (b'"x"', None), (b'not json', None), (b'{"id": "\xff"}', None), (b'', None),
])
def test_parse_record_is_a_json_object_of_at_most_max_size_bytes(data, record):
    assert kf.parse_record(data) == record


@pytest.mark.parametrize('content', [
    json.dumps({'name': 'n', 'id': 'ApiKey-1', 'iam_id': 'iam-x', 'apikey': VALUE, 'created_at': 't'}, indent=2) + '\n',
    json.dumps({'name': 'n', 'description': 'd', 'createdAt': 't', 'apikey': VALUE}),
    json.dumps({'apikey': VALUE + '\n'}),
    VALUE, VALUE + '\n', VALUE + '\r\n',
])
def test_read_api_key_takes_a_record_or_the_key_alone(tmp_path, content):
    path = tmp_path / 'key'
    path.write_bytes(content.encode())
    assert kf.read_api_key(str(path), 'known_keys[0] (k)') == VALUE


NO_KEY = ('holds no API key - give a JSON file with an apikey field (the store_to file of icr.auth.icr_api_key) or a '
          'file with the key alone on one line.')


@pytest.mark.parametrize('content, says', [
    (json.dumps({'name': 'n', 'value': VALUE}), '{path} ' + NO_KEY),
    (json.dumps({'apikey': [VALUE]}), '{path} ' + NO_KEY),
    (json.dumps({'apikey': ''}), '{path} ' + NO_KEY),
    (json.dumps({'apikey': VALUE + ' ' + VALUE}), '{path} ' + NO_KEY),
    (json.dumps({'apikey': TOKEN}), '{path} ' + NO_KEY),
    ('{"apikey": "' + VALUE + '"', '{path} ' + NO_KEY),
    (json.dumps({'apikey': VALUE}) + ' ' * kf.MAX_SIZE, '{path} ' + NO_KEY),
    ('', 'the API key file {path} is empty; write the API key into it.'),
    ('\n', 'the API key file {path} is empty; write the API key into it.'),
    (VALUE + '\n' + VALUE + '\n', 'the API key in {path} contains white space (more than one line?); the file should '
                                  'hold the key alone.'),
    (' ' + VALUE, 'the API key in {path} contains white space'),
    (VALUE + '\n\n', 'the API key in {path} contains white space'),
    (VALUE + ' é', 'the API key file {path} does not hold an API key (not ASCII text).'),
    (VALUE * 200, 'the API key file {path} is larger than 4096 bytes; it should hold the key alone.'),
    (TOKEN, '{path} holds an IAM access token, not an API key; write the API key there.'),
])
def test_read_api_key_refuses_what_holds_no_key_naming_the_file_never_its_content(tmp_path, content, says):
    path = tmp_path / 'key'
    path.write_bytes(content.encode())
    with pytest.raises(InputError) as caught:
        kf.read_api_key(str(path), 'known_keys[2] (web)')
    assert caught.value.msg.startswith('known_keys[2] (web): ')
    assert says.format(path=path) in caught.value.msg
    assert VALUE not in caught.value.msg and TOKEN not in caught.value.msg


def test_read_api_key_of_a_file_it_cannot_read(tmp_path):
    with pytest.raises(InputError) as caught:
        kf.read_api_key(str(tmp_path / 'none'), 'known_keys[0] (k)')
    assert caught.value.msg == f"known_keys[0] (k): cannot read {tmp_path / 'none'}: No such file or directory."
    with pytest.raises(InputError, match='Is a directory'):
        kf.read_api_key(str(tmp_path), 'known_keys[0] (k)')
