# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_token_cache: modes and owners, atomic replacement, corrupt files, reuse and refresh, the lock (20 concurrent
callers, 1 exchange), a cached token served when the exchange fails."""

from __future__ import annotations

import json
import multiprocessing
import os
import pwd
import stat
import time

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _token_cache as tc
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError
from ansible_collections.icr.auth.plugins.module_utils._identity_base import AccessToken

NOW = 1700000000
KEY = 'api_key_file-0123456789abcdef'


def token(left=3000, life=3600, now=NOW, value='tok'):
    return AccessToken(value, now + left, now + left - life)


@pytest.fixture
def cache(tmp_path):
    cache = tc.TokenCache(str(tmp_path / 'home' / '.cache' / 'docker-credential-icr'), KEY)
    yield cache
    cache.close()


def test_the_directory_is_made_0700_and_the_file_0600_with_tokens_only(cache):
    cache.write(token(value='the-token'))
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    st = os.stat(cache.path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    expected = {'version': 1, 'access_token': 'the-token', 'expires_at': NOW + 3000, 'issued_at': NOW - 600}
    assert json.loads(open(cache.path).read()) == expected
    assert cache.read() == token(value='the-token')
    leftovers = [n for n in os.listdir(cache.directory) if n not in (cache.name,)]
    assert leftovers == []


def test_the_cache_file_is_named_after_the_key(cache):
    cache.write(token())
    assert sorted(os.listdir(cache.directory)) == [KEY + '.json']
    assert cache.path == os.path.join(cache.directory, KEY + '.json')


def test_the_default_directory_is_under_the_callers_home_even_without_home(monkeypatch):
    monkeypatch.delenv('HOME', raising=False)
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert tc.default_cache_dir() == os.path.join(home, '.cache', 'docker-credential-icr')


@pytest.mark.parametrize('mode', [0o750, 0o705, 0o777, 0o710])
def test_a_directory_open_to_others_is_refused(cache, mode):
    os.makedirs(cache.directory)
    os.chmod(cache.directory, mode)
    with pytest.raises(tc.CacheError) as caught:
        cache.read()
    assert caught.value.msg.startswith(f'the token cache directory {cache.directory} is open to others (mode {mode:04o})')
    assert f'chmod 700 {cache.directory}' in caught.value.msg


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_a_directory_or_file_of_another_user_is_refused(cache):
    nobody = pwd.getpwnam('nobody').pw_uid
    cache.write(token())
    cache.close()
    os.chown(cache.path, nobody, -1)
    with pytest.raises(tc.CacheError) as caught:
        cache.read()
    assert f'the token cache file {cache.path} belongs to uid {nobody}' in caught.value.msg
    assert f'remove it (rm {cache.path})' in caught.value.msg
    cache.close()
    os.chown(cache.directory, nobody, -1)
    with pytest.raises(tc.CacheError) as caught:
        cache.read()
    assert f'the token cache directory {cache.directory} belongs to uid {nobody}' in caught.value.msg


def test_a_file_open_to_others_is_refused(cache):
    cache.write(token())
    os.chmod(cache.path, 0o644)
    with pytest.raises(tc.CacheError) as caught:
        cache.read()
    assert 'is open to others (mode 0644)' in caught.value.msg


@pytest.mark.parametrize('content', [b'', b'{', b'[]', b'{"version": 1}', b'\xff\xfe',
                                     b'{"version": 2, "access_token": "t", "expires_at": 1, "issued_at": 0}',
                                     b'{"version": 1, "access_token": "", "expires_at": 1, "issued_at": 0}',
                                     b'{"version": 1, "access_token": "t", "expires_at": "1", "issued_at": 0}'])
def test_a_corrupt_file_is_ignored_and_replaced(cache, content):
    cache.write(token())
    with open(cache.path, 'wb') as handle:
        handle.write(content)
    assert cache.read() is None
    served = tc.get_token(lambda: token(value='new'), cache, 0.25, 5, now=lambda: NOW)
    assert served.exchanged and cache.read().token == 'new'


@pytest.mark.parametrize('left, life, share, is_fresh', [
    (3000, 3600, 0.25, True), (901, 3600, 0.25, True), (899, 3600, 0.25, False), (37, 3600, 0.01, True),
    (35, 3600, 0.01, False), (16, 600, 0.01, True), (14, 600, 0.01, False),
])
def test_fresh_while_more_than_the_share_of_the_life_is_left_and_never_near_expiry(left, life, share, is_fresh):
    assert tc.fresh(token(left=left, life=life), share, NOW) is is_fresh


def test_a_fresh_cached_token_is_reused_without_an_exchange(cache):
    cache.write(token(value='cached'))
    calls = []
    served = tc.get_token(lambda: calls.append(1), cache, 0.25, 5, now=lambda: NOW)
    assert served.token.token == 'cached' and not served.exchanged and calls == []


def test_a_token_past_its_refresh_point_is_exchanged_and_stored(cache):
    cache.write(token(left=600, value='old'))
    served = tc.get_token(lambda: token(value='new'), cache, 0.25, 5, now=lambda: NOW)
    assert served.token.token == 'new' and served.exchanged and cache.read().token == 'new'


def test_a_failed_exchange_serves_a_still_valid_cached_token_with_a_warning(cache):
    cache.write(token(left=600, value='old'))

    def failing():
        raise IamError('Could not exchange the API key: IAM at x answered HTTP 503 (2 attempts).')
    served = tc.get_token(failing, cache, 0.25, 5, now=lambda: NOW)
    assert served.token.token == 'old' and not served.exchanged
    assert served.warning == ('could not refresh the token (Could not exchange the API key: IAM at x answered HTTP 503 '
                              '(2 attempts).); serving the cached one, valid for 600 more seconds')


def test_a_failed_exchange_with_an_expired_cache_is_the_error(cache):
    cache.write(token(left=10, value='old'))

    def failing():
        raise IamError('IAM down')
    with pytest.raises(IamError):
        tc.get_token(failing, cache, 0.25, 5, now=lambda: NOW)


def test_erase_drops_the_cached_token(cache):
    cache.write(token())
    assert cache.remove() is True and cache.read() is None and cache.remove() is False


def _caller(directory, counter, ready, results):
    cache = tc.TokenCache(directory, KEY)

    def fetch():
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, b'x')
        os.close(fd)
        time.sleep(0.5)
        return AccessToken('exchanged', int(time.time()) + 3600, int(time.time()))
    ready.wait()
    served = tc.get_token(fetch, cache, 0.25, 30)
    results.put(served.token.token)


def test_twenty_concurrent_callers_make_one_exchange(tmp_path):
    context = multiprocessing.get_context('fork')
    directory = str(tmp_path / 'cache')
    counter = str(tmp_path / 'exchanges')
    ready = context.Event()
    results = context.Queue()
    procs = [context.Process(target=_caller, args=(directory, counter, ready, results)) for _i in range(20)]
    for proc in procs:
        proc.start()
    ready.set()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 20
    assert sorted(results.get(timeout=5) for _i in range(20)) == ['exchanged'] * 20
    assert open(counter).read() == 'x'


def test_a_caller_that_cannot_get_the_lock_serves_a_usable_cached_token(cache):
    import fcntl
    cache.write(token(left=600, value='old'))
    fd = os.open(os.path.join(cache.directory, KEY + '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
    context = multiprocessing.get_context('fork')
    lock_path = os.path.join(cache.directory, KEY + '.lock')
    holder = context.Process(target=lambda: (fcntl.flock(os.open(lock_path, os.O_RDWR), fcntl.LOCK_EX), time.sleep(3)))
    holder.start()
    try:
        time.sleep(0.5)
        served = tc.get_token(lambda: pytest.fail('no exchange without the lock'), cache, 0.25, 0.3,
                              now=lambda: NOW)
    finally:
        holder.terminate()
        holder.join()
        os.close(fd)
    assert served.token.token == 'old' and 'held the token lock for 0.3 seconds' in served.warning


def test_a_token_that_cannot_be_cached_is_still_served_with_a_warning(cache, monkeypatch):
    def full_disk(*args, **kwargs):
        raise tc.ConfigFileError(f'Writing {cache.path} failed: No space left on device. The file was left unchanged.')
    monkeypatch.setattr(tc, 'write_atomic', full_disk)
    served = tc.get_token(lambda: token(value='new'), cache, 0.25, 5, now=lambda: NOW)
    assert served.token.token == 'new' and served.exchanged
    assert served.warning.startswith('the token could not be cached (Writing ') and 'No space left' in served.warning


def test_remove_without_a_cache_makes_no_directory(cache):
    assert cache.remove() is False and not os.path.exists(cache.directory)


def test_a_cache_file_that_cannot_be_removed_is_named_with_the_reason(cache):
    cache.write(token())
    os.unlink(cache.path)
    os.mkdir(cache.path)  # unlink() of a directory fails with EISDIR, not ENOENT
    with pytest.raises(tc.CacheError) as err:
        cache.remove()
    assert err.value.msg == 'cannot remove %s: Is a directory' % cache.path


def test_usable_and_fresh_at_their_exact_bounds():
    assert not tc.usable(token(left=tc.MIN_VALIDITY), NOW) and tc.usable(token(left=tc.MIN_VALIDITY + 1), NOW)
    assert not tc.fresh(token(left=900, life=3600), 0.25, NOW) and tc.fresh(token(left=901, life=3600), 0.25, NOW)


def test_a_fresh_cached_token_is_served_without_waiting_for_the_lock(cache):
    import fcntl
    cache.write(token(left=3000, value='fresh'))
    fd = os.open(os.path.join(cache.directory, KEY + '.lock'), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: get_token's own flock would fail
        served = tc.get_token(lambda: pytest.fail('no exchange for a fresh token'), cache, 0.25, 0.2, now=lambda: NOW)
    finally:
        os.close(fd)
    assert (served.token.token, served.warning, served.exchanged) == ('fresh', None, False)


def test_a_token_another_caller_stored_meanwhile_is_served_without_an_exchange(cache, monkeypatch):
    answers = [token(left=100, value='stale'), token(left=3000, value='theirs')]
    monkeypatch.setattr(cache, 'read', lambda: answers.pop(0))
    served = tc.get_token(lambda: pytest.fail('the token read under the lock is fresh'), cache, 0.25, 1.0,
                          now=lambda: NOW)
    assert (served.token.token, served.warning, served.exchanged) == ('theirs', None, False)


def test_an_exchanged_and_stored_token_comes_without_a_warning(cache):
    served = tc.get_token(lambda: token(value='new'), cache, 0.25, 1.0, now=lambda: NOW)
    assert (served.token.token, served.warning, served.exchanged) == ('new', None, True)


def test_a_cache_directory_that_cannot_be_made_is_named_with_the_reason_and_the_fix(tmp_path):
    (tmp_path / 'file').write_text('')
    cache = tc.TokenCache(str(tmp_path / 'file' / 'cache'), KEY)
    with pytest.raises(tc.CacheError) as err:
        cache.dir_fd()
    assert err.value.msg.startswith('cannot use the token cache directory %s: ' % cache.directory)
    assert err.value.msg.endswith('. Set cache_dir to a directory of the calling user.')


def test_the_reason_a_cache_directory_cannot_be_used(tmp_path, monkeypatch):
    from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError
    for exc, why in ((ConfigFileError('/x is a symbolic link'), '/x is a symbolic link'),
                     (OSError(20, 'Not a directory'), 'Not a directory'), (OSError('no errno'), 'no errno')):
        def open_dir(*args, **kwargs):
            raise exc
        monkeypatch.setattr(tc, 'open_dir', open_dir)
        with pytest.raises(tc.CacheError) as err:
            tc.TokenCache('/x', KEY).dir_fd()
        assert err.value.msg == ('cannot use the token cache directory /x: %s. Set cache_dir to a directory of the '
                                 'calling user.' % why)
