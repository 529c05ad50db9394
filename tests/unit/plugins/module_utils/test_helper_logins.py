# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_logins: the logins docker login stores through the helper."""

from __future__ import annotations

import os

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_logins as logins_module
from ansible_collections.icr.auth.plugins.module_utils._helper_logins import LoginStore
from ansible_collections.icr.auth.plugins.module_utils._token_cache import CacheError


@pytest.fixture
def store(tmp_path):
    logins = LoginStore(str(tmp_path / 'cache'))
    yield logins
    logins.close()


def test_store_get_hosts_erase(store):
    assert store.get('us.icr.io') is None and store.hosts() == {}
    store.store('us.icr.io', 'iamapikey', 's1')
    store.store('de.icr.io', 'iambearer', 's2')
    assert store.get('us.icr.io') == ('iamapikey', 's1')
    assert store.hosts() == {'us.icr.io': 'iamapikey', 'de.icr.io': 'iambearer'}
    assert store.erase('us.icr.io') is True and store.erase('us.icr.io') is False
    assert store.hosts() == {'de.icr.io': 'iambearer'}
    assert os.stat(store.files.path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize('content', [b'', b'{', b'[1]', b'{"us.icr.io": {"Username": 1}}'])
def test_a_corrupt_file_reads_as_empty_and_is_replaced(store, content):
    store.store('x.icr.io', 'u', 's')
    with open(store.files.path, 'wb') as handle:
        handle.write(content)
    assert store.get('us.icr.io') is None
    store.store('us.icr.io', 'u', 's')
    assert store.hosts() == {'us.icr.io': 'u'}


def test_a_file_open_to_others_is_refused(store):
    store.store('us.icr.io', 'u', 's')
    os.chmod(store.files.path, 0o640)
    with pytest.raises(CacheError) as caught:
        store.get('us.icr.io')
    assert 'is open to others (mode 0640)' in caught.value.msg


def test_reading_makes_no_directory(tmp_path):
    logins = LoginStore(str(tmp_path / 'none' / 'cache'))
    assert logins.get('us.icr.io') is None and logins.hosts() == {} and logins.erase('us.icr.io') is False
    logins.close()
    assert not (tmp_path / 'none').exists()


def test_a_file_open_to_others_word_for_word(store):
    store.store('us.icr.io', 'u', 's')
    os.chmod(store.files.path, 0o640)
    with pytest.raises(CacheError) as caught:
        store.hosts()
    path = store.files.path
    assert caught.value.msg == f'the token cache file {path} is open to others (mode 0640); remove it (rm {path})'


def test_entries_without_a_string_username_and_secret_are_skipped(store):
    store.store('x.icr.io', 'u', 's')
    with open(store.files.path, 'w') as handle:
        handle.write('{"us.icr.io": {"Username": 1, "Secret": "s"}, "jp.icr.io": {"Username": "u", "Secret": 2}, '
                     '"au.icr.io": "u:s", "de.icr.io": {"Username": "u", "Secret": "s"}}')
    assert store.hosts() == {'de.icr.io': 'u'} and store.get('us.icr.io') is None and store.get('jp.icr.io') is None


def test_the_file_is_written_0600_sorted_one_space_indent(store):
    store.store('us.icr.io', 'u1', 's1')
    os.chmod(store.files.path, 0o400)
    store.store('de.icr.io', 'u2', 's2')
    with open(store.files.path, 'rb') as handle:
        assert handle.read() == (b'{\n "de.icr.io": {\n  "Secret": "s2",\n  "Username": "u2"\n },\n "us.icr.io": {\n'
                                 b'  "Secret": "s1",\n  "Username": "u1"\n }\n}')
    assert os.stat(store.files.path).st_mode & 0o777 == 0o600


def test_written_in_the_directory_that_was_checked(store, tmp_path):
    store.store('us.icr.io', 'u1', 's1')
    os.rename(str(tmp_path / 'cache'), str(tmp_path / 'checked'))
    os.mkdir(str(tmp_path / 'cache'), 0o700)
    store.store('de.icr.io', 'u2', 's2')
    assert os.listdir(str(tmp_path / 'cache')) == []
    checked = LoginStore(str(tmp_path / 'checked'))
    try:
        assert checked.hosts() == {'us.icr.io': 'u1', 'de.icr.io': 'u2'}
    finally:
        checked.close()


def test_a_held_lock_word_for_word(store, monkeypatch):
    monkeypatch.setattr(logins_module, 'LOCK_TIMEOUT', 0.05)
    store.store('us.icr.io', 'u', 's')
    other = LoginStore(store.files.directory)
    try:
        with other.files.locked(1.0) as held:
            assert held
            for call in (lambda: store.store('de.icr.io', 'u', 's'), lambda: store.erase('us.icr.io')):
                with pytest.raises(CacheError) as caught:
                    call()
                assert caught.value.msg == (f'another docker-credential-icr held the lock of {store.files.path} for 0.05 '
                                            'seconds; try again')
    finally:
        other.close()
    assert store.hosts() == {'us.icr.io': 'u'}
