# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_identity_key_file: the key file's owner and mode checks, ~ as the caller's home, the apikey grant."""

from __future__ import annotations

import os
import pwd
import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _identity_key_file as kf
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError
from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate
from ansible_collections.icr.auth.plugins.module_utils._identity_base import IdentityError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import FakeTransport, read_fifo_without_writer
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, iam_token

NOW = 1700000000


def key_file(tmp_path, content=API_KEY + '\n', mode=0o600):
    path = tmp_path / 'apikey'
    path.write_text(content)
    os.chmod(path, mode)
    return path


def source(path):
    conf = validate({'identity': 'api_key_file', 'api_key_file': str(path), 'iam_endpoint': 'https://iam.example.test'})
    tr = FakeTransport((200, {'access_token': iam_token(now=NOW), 'expires_in': 3600}))
    return kf.ApiKeyFile(conf, tr), tr


def test_the_key_is_exchanged_with_the_apikey_grant(tmp_path):
    identity, tr = source(key_file(tmp_path))
    assert identity.fetch().expires_at == NOW + 3600
    sent = dict(urllib.parse.parse_qsl(tr.requests[0]['body'].decode()))
    assert sent == {'grant_type': 'urn:ibm:params:oauth:grant-type:apikey', 'apikey': API_KEY}
    assert API_KEY not in tr.requests[0]['url'] and API_KEY not in str(tr.requests[0]['headers'])


@pytest.mark.parametrize('mode', [0o640, 0o604, 0o644, 0o620, 0o660])
def test_a_file_others_may_read_or_change_is_refused_with_the_fix(tmp_path, mode):
    path = key_file(tmp_path, mode=mode)
    identity, tr = source(path)
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert f'can be read or changed by others (mode {mode:04o}); run chmod 600 {path}' in caught.value.msg
    assert tr.requests == [] and API_KEY not in caught.value.msg


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_a_file_of_another_user_is_refused(tmp_path):
    path = key_file(tmp_path)
    nobody = pwd.getpwnam('nobody').pw_uid
    os.chown(path, nobody, -1)
    identity, tr = source(path)
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert f'the API key file {path} belongs to nobody, not to' in caught.value.msg
    assert 'each user needs a key file of their own' in caught.value.msg and tr.requests == []


def test_a_symbolic_link_is_not_followed(tmp_path):
    target = key_file(tmp_path)
    link = tmp_path / 'link'
    link.symlink_to(target)
    with pytest.raises(IdentityError) as caught:
        source(link)[0].fetch()
    assert 'is a symbolic link' in caught.value.msg


def test_a_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(IdentityError) as caught:
        source(tmp_path / 'none')[0].fetch()
    assert f"{tmp_path / 'none'} does not exist; write the key there (umask 077; chmod 600" in caught.value.msg


@pytest.mark.parametrize('content, says', [
    ('', 'is empty'), ('\n', 'is empty'), (API_KEY + '\n' + API_KEY + '\n', 'contains white space'),
    (' ' + API_KEY, 'contains white space'), (iam_token(now=NOW), 'holds an IAM access token, not an API key'),
])
def test_bad_content_is_refused_without_repeating_it(tmp_path, content, says):
    with pytest.raises(IdentityError) as caught:
        source(key_file(tmp_path, content))[0].fetch()
    assert says in caught.value.msg and API_KEY not in caught.value.msg


def test_crlf_and_no_newline_are_fine():
    assert kf.check_key((API_KEY + '\r\n').encode(), 'f') == API_KEY
    assert kf.check_key(API_KEY.encode(), 'f') == API_KEY


def test_tilde_is_the_callers_home_from_the_password_database_even_without_home(monkeypatch):
    monkeypatch.delenv('HOME', raising=False)
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert kf.expand_user('~/.config/x') == home + '/.config/x'
    assert kf.expand_user('~other/x') == '~other/x'
    assert kf.expand_user('/abs') == '/abs'


def test_a_uid_without_a_passwd_entry_is_told_to_give_absolute_paths(monkeypatch):
    def missing(uid):
        raise KeyError(uid)
    monkeypatch.setattr(kf.pwd, 'getpwuid', missing)
    with pytest.raises(IdentityError) as caught:
        kf.expand_user('~/x')
    assert 'give absolute paths (api_key_file, cache_dir, ca_path)' in caught.value.msg


def test_the_key_file_is_opened_without_following_links_blocking_or_leaking_to_children(tmp_path, monkeypatch):
    calls = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        calls.append((path, flags))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(kf.os, 'open', spy)
    path = key_file(tmp_path)
    assert kf.read_key_file(str(path)) == API_KEY
    assert calls == [(str(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    error, seconds = read_fifo_without_writer(tmp_path, 'apikey', kf.read_key_file, IdentityError)
    assert error.msg == f"the API key file {tmp_path / 'apikey'} is not a regular file" and seconds < 1.5


def test_refusals_word_for_word(tmp_path, monkeypatch):
    with pytest.raises(IdentityError) as caught:
        kf.read_key_file(str(tmp_path))
    assert caught.value.msg == f'the API key file {tmp_path} is not a regular file'
    path = key_file(tmp_path)
    with pytest.raises(IdentityError) as caught:
        kf.read_key_file(str(path / 'x'))
    assert caught.value.msg == f'cannot read the API key file {path / "x"}: Not a directory'
    os.chmod(path, 0o640)
    with pytest.raises(IdentityError) as caught:
        kf.read_key_file(str(path))
    assert caught.value.msg == (f'the API key file {path} can be read or changed by others (mode 0640); run chmod 600 '
                                f'{path}, and replace the key if others may have read it')
    os.chmod(path, 0o600)
    owner = pwd.getpwuid(os.geteuid()).pw_name
    monkeypatch.setattr(kf.os, 'geteuid', lambda: 4242424)
    with pytest.raises(IdentityError) as caught:
        kf.read_key_file(str(path))
    assert caught.value.msg == (f'the API key file {path} belongs to {owner}, not to uid 4242424 who runs the helper; '
                                'each user needs a key file of their own (chown it, or write a new one)')


def test_content_refusals_word_for_word(tmp_path):
    path = key_file(tmp_path, '')
    with pytest.raises(IdentityError) as caught:
        kf.read_key_file(str(path))
    assert caught.value.msg == f'the API key file {path} is empty; write the API key into it'
    with pytest.raises(IdentityError) as caught:
        kf.check_key(b'a b', 'f')
    assert caught.value.msg == 'the API key in f contains white space (more than one line?); the file should hold the key alone'
    with pytest.raises(IdentityError) as caught:
        kf.check_key('clé'.encode(), 'f')
    assert caught.value.msg == 'the API key file f does not hold an API key (not ASCII text)'
    with pytest.raises(IdentityError) as caught:
        kf.check_key(b'k' * (kf.MAX_KEY_SIZE + 1), 'f')
    assert caught.value.msg == 'the API key file f is larger than 4096 bytes; it should hold the key alone'


def test_a_key_of_exactly_the_bound_is_read_whole(tmp_path):
    key = 'k' * kf.MAX_KEY_SIZE
    assert kf.read_key_file(str(key_file(tmp_path, key))) == key
    assert kf.check_key(key.encode(), 'f') == key


def test_tilde_alone_is_the_callers_home(monkeypatch):
    monkeypatch.delenv('HOME', raising=False)
    assert kf.expand_user('~') == pwd.getpwuid(os.getuid()).pw_dir


def test_no_passwd_entry_word_for_word(monkeypatch):
    def missing(uid):
        raise KeyError(uid)
    monkeypatch.setattr(kf.pwd, 'getpwuid', missing)
    with pytest.raises(IdentityError) as caught:
        kf.caller_home()
    assert caught.value.msg == (f'uid {os.getuid()} has no entry in the password database, so it has no home directory; '
                                'give absolute paths (api_key_file, cache_dir, ca_path) in the configuration')


def test_an_iam_refusal_says_what_was_being_done(tmp_path):
    conf = validate({'identity': 'api_key_file', 'api_key_file': str(key_file(tmp_path)),
                     'iam_endpoint': 'https://iam.example.test'})
    tr = FakeTransport((500, {}))
    with pytest.raises(IamError) as caught:
        kf.ApiKeyFile(conf, tr).fetch()
    assert caught.value.msg == ('Could not exchange the API key: IAM at https://iam.example.test/identity/token answered '
                                'HTTP 500 (1 attempt). IBM Cloud IAM may be having trouble; try again later.')
