# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_cache: the controller-side cache of exchanged credentials (0600 files in a 0700 directory of the caller)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _cache as cache

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import API_KEY, OTHER_KEY, iam_token

URL = 'https://iam.example.test/identity/token'
NOW = 1700000000


def record(username='iambearer', password=None, expires_at=NOW + 3600, **extra):
    data = {'username': username, 'password': iam_token(now=NOW) if password is None else password,
            'expires_at': expires_at, 'iam_id': 'iam-ServiceId-1234', 'account_id': 'a' * 32}
    data.update(extra)
    return data


@pytest.fixture()
def cache_dir(tmp_path):
    return str(tmp_path / 'cache' / 'icr.auth')


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_default_dir_follows_xdg_cache_home_else_home():
    assert cache.default_dir({'XDG_CACHE_HOME': '/srv/xdg'}) == '/srv/xdg/icr.auth'
    assert cache.default_dir({'XDG_CACHE_HOME': ''}) == os.path.join(os.path.expanduser('~'), '.cache', 'icr.auth')
    assert cache.default_dir({}) == os.path.join(os.path.expanduser('~'), '.cache', 'icr.auth')


def test_default_dir_reads_the_process_environment_when_given_none(monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', '/srv/from-env')
    assert cache.default_dir() == '/srv/from-env/icr.auth'


def test_entry_path_depends_on_url_type_and_key_and_never_shows_the_key(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert os.path.dirname(path) == cache_dir and path.endswith('.json')
    assert path == cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    others = {cache.entry_path(cache_dir, URL + '/x', 'iambearer', API_KEY),
              cache.entry_path(cache_dir, URL, 'iamrefresh', API_KEY),
              cache.entry_path(cache_dir, URL, 'iambearer', OTHER_KEY)}
    assert path not in others and len(others) == 3
    assert API_KEY not in path and API_KEY[:12] not in path


def test_save_writes_a_0600_file_in_a_0700_directory_with_the_fields_only(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.save(path, record(extra_field='dropped')) is None
    assert mode(cache_dir) == 0o700 and stat.S_ISDIR(os.lstat(cache_dir).st_mode)
    assert mode(path) == 0o600 and stat.S_ISREG(os.lstat(path).st_mode)
    with open(path, encoding='utf-8') as handle:
        stored = json.load(handle)
    assert stored == dict((k, record()[k]) for k in cache.FIELDS)
    assert cache.load(path, 600, now=NOW) == stored


def test_an_existing_directory_open_to_the_group_is_tightened(cache_dir):
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o750)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.save(path, record()) is None
    assert mode(cache_dir) == 0o700


def test_min_validity_boundary(cache_dir):
    """Exactly min_validity seconds left is enough; one second less is not."""
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    cache.save(path, record(expires_at=NOW + 600))
    assert cache.load(path, 600, now=NOW)['expires_at'] == NOW + 600
    assert cache.load(path, 601, now=NOW) is None
    assert cache.load(path, 0, now=NOW + 600) is not None
    assert cache.load(path, 0, now=NOW + 601) is None


def test_load_uses_the_clock_when_now_is_not_given(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    cache.save(path, record(expires_at=NOW))   # long expired by now
    assert cache.load(path, 0) is None
    assert cache.load(path, 0, now=NOW - 1) is not None


def test_an_api_key_entry_has_no_password_and_is_valid_only_for_iamapikey(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iamapikey', API_KEY)
    keyed = record(username='iamapikey')
    keyed['password'] = None
    cache.save(path, keyed)
    assert cache.load(path, 600, now=NOW) == keyed
    bearer = record(username='iambearer')
    bearer['password'] = None
    cache.save(path, bearer)
    assert cache.load(path, 600, now=NOW) is None


def write_raw(cache_dir, text, file_mode=0o600):
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, file_mode)
    return path


@pytest.mark.parametrize('text', [
    'not json',
    '',
    '[1, 2]',
    json.dumps(dict((k, v) for k, v in record().items() if k != 'iam_id')),
    json.dumps(record(expires_at=True)),
    json.dumps(record(expires_at=str(NOW + 3600))),
    json.dumps(record(expires_at=float(NOW + 3600))),
    json.dumps(record(password=42)),
], ids=['not-json', 'empty', 'list', 'field-missing', 'expiry-bool', 'expiry-str', 'expiry-float', 'password-int'])
def test_a_corrupt_entry_is_a_miss(cache_dir, text):
    assert cache.load(write_raw(cache_dir, text), 0, now=NOW) is None


def test_an_entry_others_can_read_is_a_miss(cache_dir):
    path = write_raw(cache_dir, json.dumps(record()), 0o644)
    assert cache.load(path, 0, now=NOW) is None
    os.chmod(path, 0o600)
    assert cache.load(path, 0, now=NOW) == record()


@pytest.mark.parametrize('parent_exists', [False, True])
def test_a_missing_entry_or_directory_is_a_miss_and_creates_nothing(cache_dir, parent_exists):
    if parent_exists:
        os.makedirs(os.path.dirname(cache_dir))
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.load(path, 0, now=NOW) is None
    assert not os.path.exists(cache_dir)
    cache.drop(path)
    assert not os.path.exists(cache_dir)


def test_a_boolean_expiry_is_a_miss_even_when_true_would_count_as_a_valid_second(cache_dir):
    """True is an int in Python: at now=0 it would be one second of validity."""
    path = write_raw(cache_dir, json.dumps(record(expires_at=True)))
    assert cache.load(path, 0, now=0) is None
    assert cache.load(write_raw(cache_dir, json.dumps(record(expires_at=1))), 0, now=0) is not None


def unsafe(kind, cache_dir, tmp_path):
    if kind == 'world-writable':
        os.makedirs(cache_dir)
        os.chmod(cache_dir, 0o777)
    elif kind == 'group-writable':
        os.makedirs(cache_dir)
        os.chmod(cache_dir, 0o770)
    elif kind == 'symlink':
        real = tmp_path / 'elsewhere'
        real.mkdir(mode=0o700)
        os.makedirs(os.path.dirname(cache_dir))
        os.symlink(str(real), cache_dir)
        return str(real)
    elif kind == 'a-file':
        os.makedirs(os.path.dirname(cache_dir))
        with open(cache_dir, 'w', encoding='utf-8') as handle:
            handle.write('x')
    elif kind == 'not-ours':
        if os.geteuid() != 0:
            pytest.skip('needs root: gives the directory to another user')
        os.makedirs(cache_dir, mode=0o700)
        os.chown(cache_dir, 65534, 65534)
    return cache_dir


@pytest.mark.parametrize('kind', ['world-writable', 'group-writable', 'symlink', 'a-file', 'not-ours'])
def test_an_unsafe_directory_is_refused_with_a_warning_and_nothing_written(cache_dir, tmp_path, kind):
    where = unsafe(kind, cache_dir, tmp_path)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    before = sorted(os.listdir(where)) if os.path.isdir(where) else None
    warning = cache.save(path, record())
    assert warning is not None and 'Could not cache the credential in %s' % cache_dir in warning
    assert 'the next run will ask IAM again' in warning
    assert record()['password'] not in warning
    assert (sorted(os.listdir(where)) if os.path.isdir(where) else None) == before


@pytest.mark.parametrize('kind', ['world-writable', 'symlink', 'not-ours'])
def test_an_entry_in_an_unsafe_directory_is_never_read_nor_dropped(cache_dir, tmp_path, kind):
    where = unsafe(kind, cache_dir, tmp_path)
    entry = os.path.join(where, os.path.basename(cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)))
    with open(entry, 'w', encoding='utf-8') as handle:
        json.dump(record(), handle)
    os.chmod(entry, 0o600)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.load(path, 0, now=NOW) is None
    cache.drop(path)
    assert os.path.exists(entry)


def test_drop_removes_the_entry_only(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    other = cache.entry_path(cache_dir, URL, 'iambearer', OTHER_KEY)
    cache.save(path, record())
    cache.save(other, record())
    cache.drop(path)
    assert not os.path.exists(path) and os.path.exists(other)
    assert cache.load(path, 0, now=NOW) is None
    cache.drop(path)   # a second drop is quiet


def test_save_replaces_an_entry(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    cache.save(path, record(expires_at=NOW + 10))
    cache.save(path, record(expires_at=NOW + 7200))
    assert cache.load(path, 3600, now=NOW)['expires_at'] == NOW + 7200
    assert os.listdir(cache_dir) == [os.path.basename(path)]


def test_entry_path_is_a_versioned_hash_so_entries_of_earlier_runs_are_found():
    """The name is part of the cache's format: sha256 of 'icr.auth/1', the URL, the type and the key, NUL-separated."""
    assert cache.entry_path('/c', URL, 'iambearer', 'k' * 44) == \
        '/c/a5a21c672014d0429e3c33160ec5124f450cc02a463069a4abd8056ca89b63f0.json'


def warning_for(where, why):
    return 'Could not cache the credential in %s (%s); the next run will ask IAM again.' % (where, why)


@pytest.mark.parametrize('kind, why', [
    ('world-writable', '{dir} belongs to uid {uid} with mode 0777; a cache directory must belong to uid {uid} and be '
                       'writable by nobody else'),
    ('group-writable', '{dir} belongs to uid {uid} with mode 0770; a cache directory must belong to uid {uid} and be '
                       'writable by nobody else'),
    ('not-ours', '{dir} belongs to uid 65534 with mode 0700; a cache directory must belong to uid {uid} and be '
                 'writable by nobody else'),
    ('symlink', '{dir} is not a directory of ours (Not a directory)'),  # O_DIRECTORY | O_NOFOLLOW on a link
    ('a-file', '{dir} is not a directory of ours (Not a directory)')])
def test_the_warning_names_the_directory_and_what_is_wrong_with_it(cache_dir, tmp_path, kind, why):
    unsafe(kind, cache_dir, tmp_path)
    warning = cache.save(cache.entry_path(cache_dir, URL, 'iambearer', API_KEY), record())
    assert warning == warning_for(cache_dir, why.format(dir=cache_dir, uid=os.geteuid()))


def test_a_directory_that_cannot_be_made_is_a_warning_with_the_system_s_reason(tmp_path):
    (tmp_path / 'file').write_text('x')
    cache_dir = str(tmp_path / 'file' / 'icr.auth')
    warning = cache.save(cache.entry_path(cache_dir, URL, 'iambearer', API_KEY), record())
    assert warning == warning_for(cache_dir, 'Not a directory')


def test_an_entry_that_cannot_be_replaced_is_a_warning_with_the_reason(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    os.makedirs(os.path.join(path, 'inside'), mode=0o700)
    assert cache.save(path, record()) == warning_for(
        cache_dir, 'Writing %s failed: Is a directory. The file was left unchanged.' % path)
    assert os.listdir(cache_dir) == [os.path.basename(path)]


def test_a_parent_that_vanishes_while_the_directory_is_opened_is_a_warning_and_nothing_is_written(
        cache_dir, monkeypatch):
    """No write may skip the checks of the directory, here open to everyone."""
    import errno
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o777)
    real = cache.open_dir

    def vanishing(directory, attributes, create=False):
        if create:
            raise OSError(errno.ENOENT, 'No such file or directory')
        return real(directory, attributes, create=create)
    monkeypatch.setattr(cache, 'open_dir', vanishing)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.save(path, record()) == warning_for(cache_dir, 'No such file or directory')
    assert os.listdir(cache_dir) == []


def test_a_link_in_place_of_the_entry_is_replaced_not_followed(cache_dir, tmp_path):
    os.makedirs(cache_dir, mode=0o700)
    target = tmp_path / 'target'
    target.write_text('untouched')
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    os.symlink(str(target), path)
    assert cache.save(path, record()) is None
    assert stat.S_ISREG(os.lstat(path).st_mode) and mode(path) == 0o600
    assert cache.load(path, 0, now=NOW) == record()
    assert target.read_text() == 'untouched'


def test_an_entry_left_by_another_user_does_not_give_the_new_one_its_owner(cache_dir):
    if os.geteuid() != 0:
        pytest.skip('needs root: gives the entry to another user')
    path = write_raw(cache_dir, json.dumps(record()))
    os.chown(path, 65534, 65534)
    assert cache.save(path, record()) is None
    assert (os.lstat(path).st_uid, os.lstat(path).st_gid) == (os.geteuid(), os.getegid())


@pytest.mark.parametrize('umask', [0, 0o277])
def test_a_new_directory_is_0700_whatever_the_umask(cache_dir, monkeypatch, umask):
    made = []
    real_mkdir = os.mkdir

    def mkdir(name, mode=0o777, **kwargs):
        made.append((name, mode))
        return real_mkdir(name, mode, **kwargs)
    monkeypatch.setattr(os, 'mkdir', mkdir)
    old = os.umask(umask)
    try:
        path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
        assert cache.save(path, record()) is None
    finally:
        os.umask(old)
    assert ('icr.auth', 0o700) in made and mode(cache_dir) == 0o700 and mode(path) == 0o600
    assert cache.load(path, 0, now=NOW) == record()


def test_a_directory_only_its_owner_can_use_keeps_its_mode(cache_dir):
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.save(path, record()) is None
    os.chmod(cache_dir, 0o500)
    try:
        assert cache.load(path, 0, now=NOW) == record()
        assert mode(cache_dir) == 0o500
    finally:
        os.chmod(cache_dir, 0o700)


def test_a_directory_others_can_only_search_is_accepted_and_tightened(cache_dir):
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o701)
    path = cache.entry_path(cache_dir, URL, 'iambearer', API_KEY)
    assert cache.save(path, record()) is None
    assert mode(cache_dir) == 0o700 and cache.load(path, 0, now=NOW) == record()
