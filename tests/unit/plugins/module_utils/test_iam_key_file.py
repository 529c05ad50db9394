# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_iam_key_file: the store_to file is new, 0600, in a 0700 directory of the user, and never overwritten; the key of a
key file (a JSON record's apikey, or the key alone as check_key takes it), with messages that never hold it."""

from __future__ import annotations

import errno
import json
import os
import re
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
    ' \n\t' + json.dumps({'apikey': VALUE}),
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


def test_read_api_key_reads_at_most_max_size_and_one_bytes(tmp_path, monkeypatch):
    reads = []
    real_open = open

    class Recording(object):
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.handle.close()

        def read(self, size=-1):
            data = self.handle.read(size)
            reads.append(len(data))
            return data
    monkeypatch.setattr(kf, 'open', lambda name, mode='r': Recording(real_open(name, mode)), raising=False)
    path = tmp_path / 'key'
    path.write_bytes(b' ' * (4 * kf.MAX_SIZE) + VALUE.encode())
    with pytest.raises(InputError) as caught:
        kf.read_api_key(str(path), 'known_keys[1] (big)')
    assert caught.value.msg == f'known_keys[1] (big): the API key file {path} is larger than 4096 bytes; it should hold the key alone.'
    assert reads == [kf.MAX_SIZE + 1]
    path.write_bytes(json.dumps({'apikey': VALUE}).encode())
    assert kf.read_api_key(str(path), 'known_keys[1] (big)') == VALUE
    assert reads == [kf.MAX_SIZE + 1, len(json.dumps({'apikey': VALUE}))]


def test_read_api_key_of_a_file_it_cannot_read(tmp_path):
    with pytest.raises(InputError) as caught:
        kf.read_api_key(str(tmp_path / 'none'), 'known_keys[0] (k)')
    assert caught.value.msg == f"known_keys[0] (k): cannot read {tmp_path / 'none'}: No such file or directory."
    with pytest.raises(InputError, match='Is a directory'):
        kf.read_api_key(str(tmp_path), 'known_keys[0] (k)')


def _os_error(code):
    return OSError(code, os.strerror(code))


def test_directory_refusals_word_for_word(tmp_path, monkeypatch):
    with pytest.raises(InputError) as err:
        kf.check_directory(str(tmp_path) + '/', create=False)
    assert str(err.value) == (f'store_to: {str(tmp_path) + "/"!r} is not the absolute path of a file; give for example '
                              '~/.vault/key.json.')
    monkeypatch.setattr(kf.os, 'geteuid', lambda: os.getuid() + 1)
    with pytest.raises(InputError) as err:
        kf.check_directory(str(tmp_path / 'k.json'), create=False)
    assert str(err.value) == (f'store_to: the directory {tmp_path} belongs to uid {os.getuid()}, not to the user the '
                              'module runs as; choose a directory of your own.')


def test_directory_that_cannot_be_inspected_or_created(tmp_path, monkeypatch):
    real_stat = os.stat

    def stat_refused(path, *args, **kwargs):
        if str(path) == str(tmp_path / 'locked'):
            raise _os_error(errno.EACCES)
        return real_stat(path, *args, **kwargs)
    monkeypatch.setattr(kf.os, 'stat', stat_refused)
    with pytest.raises(InputError) as err:
        kf.check_directory(str(tmp_path / 'locked' / 'k.json'), create=True)
    assert str(err.value) == f'store_to: cannot inspect the directory {tmp_path / "locked"}: Permission denied.'

    def makedirs_refused(path, mode=0o777, exist_ok=False):
        raise _os_error(errno.EROFS)
    monkeypatch.setattr(kf.os, 'makedirs', makedirs_refused)
    with pytest.raises(InputError) as err:
        kf.check_directory(str(tmp_path / 'new' / 'k.json'), create=True)
    assert str(err.value) == f'store_to: cannot create the directory {tmp_path / "new"}: Read-only file system.'


def test_a_new_directory_is_private_from_its_creation(tmp_path, monkeypatch):
    # No moment where the directory is open to others: it is made 0700, not made and then closed with chmod.
    monkeypatch.setattr(kf.os, 'chmod', lambda path, mode: None)
    old = os.umask(0o022)
    try:
        assert kf.check_directory(str(tmp_path / 'new' / 'k.json'), create=True) == str(tmp_path / 'new')
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / 'new').stat().st_mode) == 0o700


def test_files_are_opened_without_following_links_and_closed_on_exec(tmp_path, monkeypatch):
    calls = []
    real_open = os.open

    def spy(path, flags, mode=0o777, **kwargs):
        calls.append((os.path.dirname(path), flags, mode))
        return real_open(path, flags, mode, **kwargs)
    monkeypatch.setattr(kf.os, 'open', spy)
    key_file = kf.KeyFile(str(tmp_path / 'k.json'))
    key_file.abort()
    path = tmp_path / 'r.json'
    path.write_text('{"id": "a"}')
    kf.read_record(str(path))
    assert calls == [(str(tmp_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600),
                     (str(tmp_path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o777)]


def test_read_record_does_not_follow_a_link(tmp_path):
    target = tmp_path / 'target.json'
    target.write_text(json.dumps({'id': 'a', 'apikey': VALUE}))
    link = tmp_path / 'k.json'
    link.symlink_to(target)
    with pytest.raises(InputError) as err:
        kf.read_record(str(link))
    assert str(err.value) == f'store_to: cannot read {link}: {os.strerror(errno.ELOOP)}.'


def test_read_record_size_bound_and_message(tmp_path):
    path = tmp_path / 'k.json'
    record = '{"id": "a", "apikey": "' + VALUE + '"}'
    path.write_text(record + ' ' * (kf.MAX_SIZE - len(record)))
    assert path.stat().st_size == kf.MAX_SIZE and kf.read_record(str(path)) == {'id': 'a'}
    path.write_text(record + ' ' * (kf.MAX_SIZE + 1 - len(record)))
    with pytest.raises(InputError) as err:
        kf.read_record(str(path))
    assert str(err.value) == (f'store_to: {path} exists but does not hold an API key record (JSON with name, id, iam_id, '
                              'apikey, created_at); it was left as it is. Move it away or choose another path.')


def test_never_overwritten_word_for_word(tmp_path):
    path = tmp_path / 'key.json'
    path.write_text('{}')
    with pytest.raises(InputError) as err:
        kf.KeyFile(str(path))
    assert str(err.value) == (f'store_to: {path} already exists; an API key file is never overwritten. Move it away or '
                              'choose another path.')


def test_temp_file_name_and_mode_whatever_the_umask(tmp_path):
    old = os.umask(0o277)
    try:
        key_file = kf.KeyFile(str(tmp_path / 'k.json'))
        assert re.match(r'^\.k\.json\.[0-9a-f]{12}\.tmp$', os.path.basename(key_file.tmp))
        key_file.publish({'id': 'x', 'apikey': VALUE})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / 'k.json').stat().st_mode) == 0o600


def test_temp_file_gives_up_after_twenty_names_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(kf.os, 'urandom', lambda n: b'\x01' * n)
    taken = tmp_path / ('.k.json.' + '01' * 6 + '.tmp')
    taken.write_text('')
    calls = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        calls.append(path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(kf.os, 'open', spy)
    with pytest.raises(InputError) as err:
        kf.KeyFile(str(tmp_path / 'k.json'))
    assert str(err.value) == f'store_to: could not create a temp file in {tmp_path}.'
    assert calls == [str(taken)] * 20


def test_temp_file_that_cannot_be_written(tmp_path, monkeypatch):
    calls = []

    def refused(path, *args, **kwargs):
        calls.append(path)
        raise _os_error(errno.EACCES)
    monkeypatch.setattr(kf.os, 'open', refused)
    with pytest.raises(InputError) as err:
        kf.KeyFile(str(tmp_path / 'k.json'))
    assert str(err.value) == f'store_to: cannot write in {tmp_path}: Permission denied.' and len(calls) == 1


def test_published_file_layout(tmp_path):
    path = tmp_path / 'k.json'
    kf.KeyFile(str(path)).publish({'name': 'n', 'id': 'ApiKey-1', 'apikey': VALUE})
    assert path.read_text() == ('{\n  "name": "n",\n  "id": "ApiKey-1",\n  "iam_id": null,\n  "apikey": "%s",\n'
                                '  "created_at": null\n}\n' % VALUE)
