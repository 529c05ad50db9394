# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_logins: the logins docker login stores through the helper."""

from __future__ import annotations

import os

import pytest

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
