# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_helper_install: the configuration from the options, the files installed and removed, the users' caches and key
files, and the check that runs the installed helper as a user."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import pwd
import shutil
import stat
import tempfile

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _helper_install as install
from ansible_collections.icr.auth.plugins.module_utils._dir_walk import Attributes
from ansible_collections.icr.auth.plugins.module_utils._errors import ConfigFileError, InputError

PROFILE_ID = 'Profile-0d4f58e5-2b1c-4a2e-9f5d-3c8e7a1b6f20'
PROFILE_CRN = 'crn:v1:bluemix:public:iam-identity::a/0123456789abcdef0123456789abcdef::profile:' + PROFILE_ID
TOKEN = 'eyJhbGciOiJub25lIn0.unit-helper-install-token.c2ln'
API_KEY = 'unit-helper-install-api-key-0123456789abcdef'
ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason='acting as another user and root-owned files need root')


def identity_of(value):
    """config_from's validate: the configuration as it is, so that the test sees what config_from built."""
    return value


def built(**params):
    return install.config_from(params, identity_of)


def refused(**params):
    with pytest.raises(InputError) as caught:
        built(**params)
    return caught.value.msg


def open_fds():
    return sorted(os.listdir('/proc/self/fd'))


@pytest.fixture
def scratch():
    """A directory every user can reach (tmp_path is root's own, 0700, when root)."""
    made = pathlib.Path(tempfile.mkdtemp(prefix='icr-auth-unit-install-'))
    os.chmod(str(made), 0o755)
    yield made
    shutil.rmtree(str(made), ignore_errors=True)


@pytest.fixture
def nobody(scratch):
    """The passwd entry of nobody with a home of its own in scratch."""
    real = pwd.getpwnam('nobody')
    home = scratch / 'home'
    home.mkdir()
    os.chown(str(home), real.pw_uid, real.pw_gid)
    return pwd.struct_passwd((real.pw_name, 'x', real.pw_uid, real.pw_gid, '', str(home), '/bin/sh'))


def me(home='/home/me'):
    """The caller's own passwd entry with another home: identity() does not switch for it."""
    own = pwd.getpwuid(os.geteuid())
    return pwd.struct_passwd((own.pw_name, 'x', own.pw_uid, own.pw_gid, '', home, '/bin/sh'))


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def owner_of(path):
    st = os.lstat(str(path))
    return st.st_uid, st.st_gid


# trusted_profile_keys

def test_a_trusted_profile_is_an_id_or_a_crn_by_its_shape():
    assert install.trusted_profile_keys(PROFILE_ID) == {'trusted_profile_id': PROFILE_ID}
    assert install.trusted_profile_keys('  %s\n' % PROFILE_ID) == {'trusted_profile_id': PROFILE_ID}
    assert install.trusted_profile_keys(PROFILE_ID.upper().replace('PROFILE', 'Profile')) == \
        {'trusted_profile_id': PROFILE_ID.upper().replace('PROFILE', 'Profile')}
    assert install.trusted_profile_keys(PROFILE_CRN) == {'trusted_profile_crn': PROFILE_CRN}
    assert install.trusted_profile_keys(' %s ' % PROFILE_CRN) == {'trusted_profile_crn': PROFILE_CRN}


@pytest.mark.parametrize('value', ['my-profile', PROFILE_ID + 'x', 'x' + PROFILE_CRN,
                                   PROFILE_CRN.replace('iam-', 'am-')])
def test_a_trusted_profile_of_another_shape_is_refused_with_both_shapes_and_the_way_out(value):
    with pytest.raises(InputError) as caught:
        install.trusted_profile_keys(value)
    assert caught.value.msg == (
        'trusted_profile: %r is neither a trusted profile id (Profile-<uuid>) nor a trusted profile CRN '
        "(crn:v1:bluemix:public:iam-identity::a/<account>::profile:Profile-<uuid>); leave it out to use the instance's "
        'default profile.' % value.strip())


# config_from

def test_the_smallest_configuration_is_the_version_and_the_identity():
    assert built(identity='api_key_file') == ({'version': 1, 'identity': 'api_key_file'}, [])
    assert built(identity='vpc_trusted_profile', regions=[], registries=[]) == \
        ({'version': 1, 'identity': 'vpc_trusted_profile'}, [])


def test_the_configuration_is_what_validate_returns_given_what_was_built():
    seen = []

    def validate(config):
        seen.append(dict(config))
        return {'validated': True}
    assert install.config_from({'identity': 'api_key_file', 'timeout': 3.0}, validate) == ({'validated': True}, [])
    assert seen == [{'version': 1, 'identity': 'api_key_file', 'timeout': 3.0}]


@pytest.mark.parametrize('ident', [None, '', 'api_key', 'VPC_TRUSTED_PROFILE'])
def test_an_unknown_identity_is_refused_with_the_known_ones(ident):
    assert refused(identity=ident) == \
        'identity: give one of vpc_trusted_profile, compute_resource, api_key_file with state: present.'


def test_regions_registries_and_the_private_endpoint_become_the_registries_with_their_warnings():
    config, warnings = built(identity='api_key_file', regions=['us-south', 'global', 'us-south'],
                             registries=['https://de.icr.io/', 'registry.eu-de.bluemix.net', 'jp.icr.io'])
    assert config == {'version': 1, 'identity': 'api_key_file',
                      'registries': ['us.icr.io', 'icr.io', 'de.icr.io', 'jp.icr.io']}
    assert len(warnings) == 1 and warnings[0].startswith('The registry domain registry.eu-de.bluemix.net is deprecated')
    config, warnings = built(identity='api_key_file', regions=['eu-de'], private_endpoint=True)
    assert config['registries'] == ['private.de.icr.io'] and warnings == []
    config, warnings = built(identity='api_key_file', regions=['eu-de'], private_endpoint=False)
    assert config['registries'] == ['de.icr.io']


def test_every_plain_option_is_copied_under_its_own_name_falsy_values_too():
    common = dict(iam_endpoint='private', ca_path='/etc/ssl/ca.pem', validate_certs=False, timeout=0, retries=0,
                  refresh_share=0.5, cache_dir='')
    assert built(identity='api_key_file', api_key_file='~/k', **common)[0] == \
        dict(common, version=1, identity='api_key_file', api_key_file='~/k')
    assert built(identity='vpc_trusted_profile', metadata_endpoint='http://169.254.169.254',
                 metadata_version='2022-03-01')[0] == \
        {'version': 1, 'identity': 'vpc_trusted_profile', 'metadata_endpoint': 'http://169.254.169.254',
         'metadata_version': '2022-03-01'}
    assert built(identity='compute_resource', profile_id=PROFILE_ID, profile_name='p', cr_token_file='/t')[0] == \
        {'version': 1, 'identity': 'compute_resource', 'profile_id': PROFILE_ID, 'profile_name': 'p',
         'cr_token_file': '/t'}
    assert built(identity='api_key_file', timeout=None, retries=None, api_key_file=None, metadata_endpoint=None)[0] == \
        {'version': 1, 'identity': 'api_key_file'}


@pytest.mark.parametrize('option, value, ident, needs', [
    ('metadata_endpoint', 'http://169.254.169.254', 'api_key_file', 'vpc_trusted_profile'),
    ('metadata_version', '2022-03-01', 'compute_resource', 'vpc_trusted_profile'),
    ('profile_id', PROFILE_ID, 'vpc_trusted_profile', 'compute_resource'),
    ('profile_name', 'p', 'api_key_file', 'compute_resource'),
    ('cr_token_file', '/t', 'vpc_trusted_profile', 'compute_resource'),
    ('api_key_file', '~/k', 'compute_resource', 'api_key_file'),
])
def test_an_option_of_another_identity_is_refused_naming_both(option, value, ident, needs):
    params = {'identity': ident, option: value}
    if ident == 'compute_resource':
        params.setdefault('profile_name', 'p')
    assert refused(**params) == \
        f'{option}: only used with identity: {needs}, not with identity: {ident}; leave it out.'


def test_a_trusted_profile_is_resolved_for_vpc_trusted_profile_and_an_empty_one_is_left_out():
    assert built(identity='vpc_trusted_profile', trusted_profile=PROFILE_CRN)[0] == \
        {'version': 1, 'identity': 'vpc_trusted_profile', 'trusted_profile_crn': PROFILE_CRN}
    assert built(identity='vpc_trusted_profile', trusted_profile=' %s ' % PROFILE_ID)[0] == \
        {'version': 1, 'identity': 'vpc_trusted_profile', 'trusted_profile_id': PROFILE_ID}
    assert built(identity='api_key_file', trusted_profile='')[0] == {'version': 1, 'identity': 'api_key_file'}
    assert built(identity='api_key_file', trusted_profile=None)[0] == {'version': 1, 'identity': 'api_key_file'}


@pytest.mark.parametrize('ident', ['api_key_file', 'compute_resource'])
def test_a_trusted_profile_with_another_identity_is_refused_pointing_to_profile_id(ident):
    assert refused(identity=ident, trusted_profile=PROFILE_ID, profile_name='p' if ident == 'compute_resource'
                   else None) == \
        (f'trusted_profile: only used with identity: vpc_trusted_profile, not with identity: {ident}; for '
         'compute_resource give profile_id or profile_name.')


@pytest.mark.parametrize('params', [{}, {'profile_id': ''}, {'profile_name': ''}, {'profile_id': None}])
def test_compute_resource_needs_a_profile_id_or_name(params):
    assert refused(identity='compute_resource', **params) == (
        'profile_id/profile_name: identity: compute_resource needs the trusted profile to ask IAM for; give its id '
        '(profile_id) or its name (profile_name).')


@pytest.mark.parametrize('params', [{'profile_id': PROFILE_ID}, {'profile_name': 'p'}])
def test_compute_resource_takes_a_profile_id_or_a_name_alone(params):
    assert built(identity='compute_resource', **params)[0] == dict(params, version=1, identity='compute_resource')


@pytest.mark.parametrize('version', ['2025-08-26', '2022-03-01'])
def test_the_known_metadata_versions_are_taken(version):
    assert built(identity='vpc_trusted_profile', metadata_version=version)[0]['metadata_version'] == version


@pytest.mark.parametrize('version', ['2024-01-01', '', '2022-03-01 '])
def test_another_metadata_version_is_refused_with_the_known_ones(version):
    assert refused(identity='vpc_trusted_profile', metadata_version=version) == \
        f'metadata_version: {version!r} is not one of 2025-08-26, 2022-03-01.'


@pytest.mark.parametrize('share', [0.001, 0.25, 0.999])
def test_a_refresh_share_between_0_and_1_is_taken(share):
    assert built(identity='api_key_file', refresh_share=share)[0]['refresh_share'] == share


@pytest.mark.parametrize('share', [0, 0.0, 1, 1.0, 1.5, -0.25])
def test_a_refresh_share_outside_0_and_1_is_refused(share):
    assert refused(identity='api_key_file', refresh_share=share) == \
        (f"refresh_share: {share} is not a share of a token's life; give a number between 0 and 1, such as 0.25.")


@pytest.mark.parametrize('name', ['timeout', 'retries'])
def test_a_negative_timeout_or_retries_is_refused_and_0_taken(name):
    assert refused(identity='api_key_file', **{name: -1}) == f'{name}: give a number, 0 or more.'
    assert refused(identity='api_key_file', **{name: -0.5}) == f'{name}: give a number, 0 or more.'
    assert built(identity='api_key_file', **{name: 0})[0][name] == 0


# config_bytes, digest

def test_the_configuration_bytes_are_stable_sorted_indented_json_with_a_newline():
    content = install.config_bytes({'version': 1, 'identity': 'x', 'registries': ['b', 'a'], 'cache_dir': '~/é'})
    assert content == (b'{\n  "cache_dir": "~/\\u00e9",\n  "identity": "x",\n  "registries": [\n    "b",\n    "a"\n'
                       b'  ],\n  "version": 1\n}\n')
    assert install.config_bytes({'b': 1, 'a': 2}) == install.config_bytes({'a': 2, 'b': 1})


def test_a_digest_is_the_size_and_sha256_or_none():
    assert install.digest(None) == '(none)\n'
    assert install.digest(b'') == '0 bytes, sha256 %s\n' % hashlib.sha256(b'').hexdigest()
    assert install.digest(b'#!/bin/sh\n') == '10 bytes, sha256 %s\n' % hashlib.sha256(b'#!/bin/sh\n').hexdigest()


# paths: _split through read_file, install_file and remove_file

@pytest.mark.parametrize('path', ['bin/docker-credential-icr', '/usr/../bin/x', '/usr/local/bin/', '..', '/x/..'])
def test_a_relative_path_a_dotdot_step_or_a_directory_is_refused_by_every_file_function(path):
    message = f'path: {path!r} is not an absolute path of a file without ".." steps.'
    for call in (lambda: install.read_file(path, 'path'), lambda: install.remove_file(path, 'path'),
                 lambda: install.install_file(path, b'x', 0o755, 'path')):
        with pytest.raises(InputError) as caught:
            call()
        assert caught.value.msg == message


def test_a_name_with_dots_that_is_no_dotdot_step_is_a_path(tmp_path):
    path = str(tmp_path / 'a..b')
    install.install_file(path, b'x', 0o644, 'config_path')
    assert install.read_file(path, 'config_path')[0] == b'x'


# read_file

def test_read_file_gives_the_bytes_and_the_stat_of_a_regular_file(tmp_path):
    path = tmp_path / 'etc' / 'credential-helper.json'
    path.parent.mkdir()
    path.write_bytes(b'{"version": 1}\n')
    os.chmod(str(path), 0o640)
    before = open_fds()
    content, st = install.read_file(str(path), 'config_path')
    assert content == b'{"version": 1}\n' and stat.S_IMODE(st.st_mode) == 0o640 and st.st_ino == path.stat().st_ino
    assert open_fds() == before


def test_read_file_of_a_missing_file_or_directory_is_none(tmp_path):
    before = open_fds()
    assert install.read_file(str(tmp_path / 'x'), 'path') == (None, None)
    assert install.read_file(str(tmp_path / 'no' / 'such' / 'x'), 'path') == (None, None)
    assert open_fds() == before


def test_read_file_of_a_link_or_a_directory_is_refused_and_left(tmp_path):
    (tmp_path / 'real').write_text('keep')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    (tmp_path / 'dir').mkdir()
    before = open_fds()
    for name in ('link', 'dir'):
        with pytest.raises(ConfigFileError) as caught:
            install.read_file(str(tmp_path / name), 'path')
        assert caught.value.msg == (f'path: {tmp_path / name} is not a regular file (a link, a directory?); it was '
                                    'left unchanged. Remove it, or give another path.')
    assert open_fds() == before
    assert os.path.islink(str(tmp_path / 'link')) and (tmp_path / 'real').read_text() == 'keep'


def test_read_file_names_what_stops_it(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(ConfigFileError) as caught:
        install.read_file(str(tmp_path / 'file' / 'x'), 'config_path')
    assert caught.value.msg == f'config_path: cannot read {tmp_path}/file/x: Not a directory.'
    long_name = str(tmp_path / ('n' * 300))
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.read_file(long_name, 'config_path')
    assert caught.value.msg == f'config_path: cannot inspect {long_name}: File name too long.'
    huge = tmp_path / 'huge'
    with open(str(huge), 'wb') as handle:
        handle.truncate(16 * 1024 * 1024 + 1)
    with pytest.raises(ConfigFileError) as caught:
        install.read_file(str(huge), 'config_path')
    assert caught.value.msg == (f'{huge} is 16777217 bytes, larger than the 16777216 bytes a registry auth file can '
                                'sensibly be; it was left unchanged.')
    assert open_fds() == before


@as_root
def test_read_file_as_root_follows_no_link_on_the_way(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'x').write_text('secret-ish')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'via'))
    with pytest.raises(ConfigFileError) as caught:
        install.read_file(str(tmp_path / 'via' / 'x'), 'path')
    assert 'symbolic link' in caught.value.msg and 'secret-ish' not in caught.value.msg


# wanted_attributes, attributes_ok

def test_the_wanted_attributes_are_root_root_with_the_mode_as_root_else_the_mode_alone(monkeypatch):
    monkeypatch.setattr(install.os, 'geteuid', lambda: 0)
    wanted = install.wanted_attributes(0o755)
    assert (wanted.owner, wanted.group, wanted.mode) == (0, 0, 0o755)
    monkeypatch.setattr(install.os, 'geteuid', lambda: 1000)
    wanted = install.wanted_attributes(0o644)
    assert (wanted.owner, wanted.group, wanted.mode) == (None, None, 0o644)


def stat_of(mode, uid, gid):
    return os.stat_result((stat.S_IFREG | mode, 1, 1, 1, uid, gid, 0, 0, 0, 0))


def test_attributes_ok_compares_the_mode_and_the_owner_and_group_asked_for():
    root = Attributes(owner=0, group=0, mode=0o755)
    assert install.attributes_ok(None, root) is False
    assert install.attributes_ok(stat_of(0o755, 0, 0), root) is True
    assert install.attributes_ok(stat_of(0o775, 0, 0), root) is False
    assert install.attributes_ok(stat_of(0o755, 5, 0), root) is False
    assert install.attributes_ok(stat_of(0o755, 0, 5), root) is False
    assert install.attributes_ok(stat_of(0o755, 5, 5), Attributes(mode=0o755)) is True
    assert install.attributes_ok(stat_of(0o755, 5, 5), Attributes(owner=5, mode=0o755)) is True
    assert install.attributes_ok(stat_of(0o755, 5, 6), Attributes(group=6, mode=0o755)) is True
    assert install.attributes_ok(stat_of(0o644, 5, 5), Attributes(mode=0o755)) is False


# install_file

def test_install_file_writes_the_content_with_the_mode_and_makes_its_new_directories_0755(tmp_path):
    os.chmod(str(tmp_path), 0o700)
    path = tmp_path / 'usr' / 'local' / 'bin' / 'docker-credential-icr'
    before = open_fds()
    assert install.install_file(str(path), b'#!/bin/sh\n', 0o755, 'path') is None
    assert open_fds() == before
    assert path.read_bytes() == b'#!/bin/sh\n' and mode_of(path) == 0o755
    for made in (tmp_path / 'usr', tmp_path / 'usr' / 'local', path.parent):
        assert mode_of(made) == 0o755
    assert mode_of(tmp_path) == 0o700  # not made: left as it was
    assert sorted(os.listdir(str(path.parent))) == ['docker-credential-icr']
    if ROOT:
        assert owner_of(path) == (0, 0) and owner_of(path.parent) == (0, 0)


def test_install_file_replaces_a_file_with_the_new_content_and_the_asked_mode(tmp_path):
    path = tmp_path / 'credential-helper.json'
    path.write_bytes(b'old and longer than the new one\n')
    os.chmod(str(path), 0o600)
    if ROOT:
        os.chown(str(path), 65534, 65534)
    install.install_file(str(path), b'{}\n', 0o644, 'config_path')
    assert path.read_bytes() == b'{}\n' and mode_of(path) == 0o644
    assert os.listdir(str(tmp_path)) == ['credential-helper.json']
    if ROOT:
        assert owner_of(path) == (0, 0)


def test_install_file_names_the_option_and_the_reason_when_it_cannot(tmp_path):
    (tmp_path / 'file').write_text('')
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.install_file(str(tmp_path / 'file' / 'x'), b'x', 0o755, 'path')
    assert caught.value.msg == f'path: cannot create the directory of {tmp_path}/file/x: Not a directory.'
    (tmp_path / 'dir').mkdir()
    (tmp_path / 'dir' / 'inside').write_text('keep')
    with pytest.raises(ConfigFileError) as caught:
        install.install_file(str(tmp_path / 'dir'), b'x', 0o644, 'config_path')
    assert caught.value.msg == (f'config_path: Writing {tmp_path}/dir failed: Is a directory. The file was left '
                                'unchanged.')
    assert open_fds() == before
    assert sorted(os.listdir(str(tmp_path))) == ['dir', 'file'] and os.listdir(str(tmp_path / 'dir')) == ['inside']


@as_root
def test_install_file_as_root_follows_no_link_on_the_way(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'via'))
    with pytest.raises(ConfigFileError) as caught:
        install.install_file(str(tmp_path / 'via' / 'x'), b'x', 0o755, 'path')
    assert 'symbolic link' in caught.value.msg
    assert os.listdir(str(tmp_path / 'real')) == []


# remove_file

def test_remove_file_removes_the_file_and_nothing_else(tmp_path):
    (tmp_path / 'keep').write_text('keep')
    (tmp_path / 'x').write_text('x')
    before = open_fds()
    assert install.remove_file(str(tmp_path / 'x'), 'path') is None
    assert os.listdir(str(tmp_path)) == ['keep']
    assert install.remove_file(str(tmp_path / 'x'), 'path') is None
    assert install.remove_file(str(tmp_path / 'no' / 'x'), 'path') is None
    assert open_fds() == before and os.listdir(str(tmp_path)) == ['keep']


def test_remove_file_removes_a_link_not_what_it_points_to(tmp_path):
    (tmp_path / 'real').write_text('keep')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    install.remove_file(str(tmp_path / 'link'), 'path')
    assert os.listdir(str(tmp_path)) == ['real'] and (tmp_path / 'real').read_text() == 'keep'


def test_remove_file_names_the_option_and_the_reason_when_it_cannot(tmp_path):
    (tmp_path / 'file').write_text('')
    (tmp_path / 'dir').mkdir()
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.remove_file(str(tmp_path / 'file' / 'x'), 'path')
    assert caught.value.msg == f'path: cannot reach {tmp_path}/file/x: Not a directory.'
    with pytest.raises(ConfigFileError) as caught:
        install.remove_file(str(tmp_path / 'dir'), 'config_path')
    assert caught.value.msg == f'config_path: cannot remove {tmp_path}/dir: Is a directory.'
    assert open_fds() == before and sorted(os.listdir(str(tmp_path))) == ['dir', 'file']


@as_root
def test_remove_file_as_root_follows_no_link_on_the_way(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'x').write_text('keep')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'via'))
    with pytest.raises(ConfigFileError) as caught:
        install.remove_file(str(tmp_path / 'via' / 'x'), 'path')
    assert 'symbolic link' in caught.value.msg
    assert (tmp_path / 'real' / 'x').read_text() == 'keep'


# cache_dir_of, key_file_of

def test_the_cache_directory_of_a_user():
    account = me('/home/deploy')
    assert install.cache_dir_of(account, None) == '/home/deploy/.cache/docker-credential-icr'
    assert install.cache_dir_of(account, '') == '/home/deploy/.cache/docker-credential-icr'
    assert install.cache_dir_of(account, '~') == '/home/deploy'
    assert install.cache_dir_of(account, '~/.c/x') == '/home/deploy/.c/x'
    assert install.cache_dir_of(account, '~other/x') == '~other/x'
    assert install.cache_dir_of(account, '/var/cache/x') == '/var/cache/x'


def test_the_key_file_of_a_user():
    account = me('/home/deploy')
    assert install.key_file_of(account, None) == '/home/deploy/.config/docker-credential-icr/apikey'
    assert install.key_file_of(account, '') == '/home/deploy/.config/docker-credential-icr/apikey'
    assert install.key_file_of(account, '~') == '/home/deploy'
    assert install.key_file_of(account, '~/.icr/key') == '/home/deploy/.icr/key'
    assert install.key_file_of(account, '/etc/icr/key') == '/etc/icr/key'
    assert install.key_file_of(account, '/etc/icr..d/key') == '/etc/icr..d/key'


@pytest.mark.parametrize('value', ['key', '~other/key', '~/../key', '/etc/icr/../key', '/etc/icr/', '~/'])
def test_a_key_file_that_is_not_an_absolute_file_path_is_refused(value):
    with pytest.raises(InputError) as caught:
        install.key_file_of(me('/home/deploy'), value)
    assert caught.value.msg == \
        f'api_key_file: {value!r} is not an absolute path (or one in ~/) of a file without ".." steps.'


# cache_entries, remove_cache

def make_cache(directory, account, names=('abc.json', 'abc.lock')):
    directory.mkdir(mode=0o700)
    for name in names:
        (directory / name).write_text('{"token": "x"}')
        os.chown(str(directory / name), account.pw_uid, account.pw_gid)
    os.chown(str(directory), account.pw_uid, account.pw_gid)
    return directory


def test_the_cache_entries_of_the_callers_own_cache(tmp_path):
    account = me(str(tmp_path))
    cache = make_cache(tmp_path / 'cache', account, ('b.json', 'a.lock', 'c'))
    before = open_fds()
    assert install.cache_entries(account, str(cache)) == ['a.lock', 'b.json', 'c']
    assert install.cache_entries(account, str(tmp_path / 'none')) is None
    (tmp_path / 'file').write_text('')
    assert install.cache_entries(account, str(tmp_path / 'file')) is None
    os.symlink(str(cache), str(tmp_path / 'link'))
    assert install.cache_entries(account, str(tmp_path / 'link')) is None
    assert open_fds() == before


@as_root
def test_the_cache_entries_are_read_as_the_user_and_only_of_the_users_own_directory(scratch, nobody):
    cache = make_cache(scratch / 'cache', nobody)
    assert install.cache_entries(nobody, str(cache)) == ['abc.json', 'abc.lock']
    shared = scratch / 'shared'
    shared.mkdir(mode=0o755)
    (shared / 'other.json').write_text('')
    assert install.cache_entries(nobody, str(shared)) is None  # root's: not the user's cache
    os.chown(str(shared), 1001, 1001)
    assert install.cache_entries(nobody, str(shared)) is None  # another user's
    private = scratch / 'private'
    private.mkdir(mode=0o700)
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.cache_entries(nobody, str(private))
    assert caught.value.msg == f'users: cannot read the cache {private} of nobody: Permission denied.'
    assert open_fds() == before and os.geteuid() == 0 and os.getegid() == 0


def test_remove_cache_removes_the_files_and_the_directory(tmp_path):
    account = me(str(tmp_path))
    cache = make_cache(tmp_path / 'cache', account)
    (tmp_path / 'keep').write_text('keep')
    before = open_fds()
    assert install.remove_cache(account, str(cache)) is None
    assert os.listdir(str(tmp_path)) == ['keep']
    assert install.remove_cache(account, str(cache)) is None
    assert open_fds() == before


def test_remove_cache_follows_no_link_and_leaves_a_file(tmp_path):
    account = me(str(tmp_path))
    target = make_cache(tmp_path / 'precious', account, ('keep',))
    os.symlink(str(target), str(tmp_path / 'link'))
    (tmp_path / 'file').write_text('keep')
    install.remove_cache(account, str(tmp_path / 'link'))
    install.remove_cache(account, str(tmp_path / 'file'))
    assert sorted(os.listdir(str(tmp_path))) == ['file', 'link', 'precious']
    assert os.listdir(str(target)) == ['keep'] and (tmp_path / 'file').read_text() == 'keep'


def test_remove_cache_names_what_it_cannot_remove(tmp_path):
    account = me(str(tmp_path))
    cache = make_cache(tmp_path / 'cache', account, ())
    (cache / 'sub').mkdir()
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.remove_cache(account, str(cache))
    assert caught.value.msg == \
        f'users: cannot remove {cache}/sub from the cache of {account.pw_name}: Is a directory.'
    assert open_fds() == before and os.listdir(str(cache)) == ['sub']


@as_root
def test_remove_cache_acts_as_the_user(scratch, nobody):
    cache = make_cache(scratch / 'cache', nobody)
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:  # scratch is root's: the user may empty the cache, not remove it
        install.remove_cache(nobody, str(cache))
    assert caught.value.msg == f'users: cannot remove the cache {cache} of nobody: Permission denied.'
    assert os.listdir(str(cache)) == []
    private = scratch / 'private'
    private.mkdir(mode=0o700)
    (private / 'x').write_text('keep')
    with pytest.raises(ConfigFileError) as caught:
        install.remove_cache(nobody, str(private))
    assert caught.value.msg == f'users: cannot open the cache {private} of nobody: Permission denied.'
    assert (private / 'x').read_text() == 'keep'
    own = make_cache(pathlib.Path(nobody.pw_dir) / 'cache', nobody)
    install.remove_cache(nobody, str(own))
    assert os.listdir(nobody.pw_dir) == []
    assert open_fds() == before and (os.geteuid(), os.getegid()) == (0, 0)


# parse_scopes

def test_scopes_become_repository_scopes():
    assert install.parse_scopes(None) == [] and install.parse_scopes([]) == []
    assert install.parse_scopes(['team-a/app:pull,push', 'team-b/web:pull', 'x:push,,pull,', 'a:b:pull']) == \
        ['repository:team-a/app:pull,push', 'repository:team-b/web:pull', 'repository:x:push,pull',
         'repository:a:b:pull']


@pytest.mark.parametrize('value', ['team-a/app', ':pull', 'team-a/app:', 'team-a/app:,', 'team-a/app:delete',
                                   'team-a/app:pull,delete', 'team-a/app:PULL', '', None])
def test_a_scope_of_another_form_is_refused(value):
    with pytest.raises(InputError) as caught:
        install.parse_scopes(['team-b/web:pull', value])
    assert caught.value.msg == f'check_access: {value!r} is not of the form namespace/repository:pull[,push].'


# run_get

def helper(directory, body, name='docker-credential-icr'):
    """A stand-in for the installed helper: a shell script, reachable and runnable by every user."""
    program = directory / name
    program.write_text('#!/bin/sh\n' + body + '\n')
    os.chmod(str(program), 0o755)
    return str(program)


ANSWERS = ('read host\n[ "$1" = get ] || exit 9\n'
           'printf \'{"ServerURL": "%%s", "Username": "iambearer", "Secret": "%s"}\' "$host"' % TOKEN)
REPORTS = ('read host\n'
           'echo "arg=$1 host=$host uid=$(id -u) gid=$(id -g) groups=$(id -G) cwd=$(pwd)" >&2\n'
           'env | sort | tr "\\n" " " >&2\nexit 1')


def test_run_get_takes_an_iam_access_token_and_keeps_it_out_of_the_result(tmp_path):
    program = helper(tmp_path, ANSWERS)
    result, token = install.run_get(program, 'us.icr.io', me(), None, 10)
    assert result == {'ok': True,
                      'msg': f'{me().pw_name}: us.icr.io: docker-credential-icr answered with an IAM access token.'}
    assert token == TOKEN and TOKEN not in json.dumps(result)


def test_run_get_gives_the_helper_only_its_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('ICR_UNIT_LEAK', 'leak')
    program = helper(tmp_path, REPORTS, name='other-name')
    account = me(str(tmp_path))
    result, token = install.run_get(program, 'de.icr.io', account, '/etc/icr-auth/credential-helper.json', 10)
    assert token is None and result['ok'] is False
    words = result['msg'].split(' ')
    assert ' '.join(words[:4]) == f'{account.pw_name}: de.icr.io: arg=get host=de.icr.io'
    assert 'cwd=/' in words
    env = dict(w.split('=', 1) for w in words if '=' in w and w.split('=')[0].isupper())
    for own in ('PWD', 'SHLVL', '_'):
        env.pop(own, None)
    assert env == {'PATH': install.SAFE_PATH, 'HOME': str(tmp_path), 'USER': account.pw_name,
                   'LOGNAME': account.pw_name, 'DOCKER_CREDENTIAL_ICR_CONFIG': '/etc/icr-auth/credential-helper.json'}
    for config_path in (None, ''):
        result, token = install.run_get(program, 'de.icr.io', account, config_path, 10)
        assert 'DOCKER_CREDENTIAL_ICR_CONFIG' not in result['msg'] and 'HOME=%s ' % tmp_path in result['msg']


@as_root
def test_run_get_runs_the_helper_as_the_user_with_the_users_groups(scratch, nobody, monkeypatch):
    program = helper(scratch, REPORTS)
    monkeypatch.setattr(install, 'user_groups', lambda account: [account.pw_gid, 1001])
    result, token = install.run_get(program, 'us.icr.io', nobody, None, 10)
    assert token is None and result['msg'].startswith(
        f'nobody: us.icr.io: arg=get host=us.icr.io uid={nobody.pw_uid} gid={nobody.pw_gid} '
        f'groups={nobody.pw_gid} 1001 cwd=/ ')
    assert (os.geteuid(), os.getegid()) == (0, 0)


@as_root
@pytest.mark.parametrize('name', ['daemon', 'nobody'])
def test_run_get_runs_the_helper_as_any_user_but_root(scratch, name):
    real = pwd.getpwnam(name)
    program = helper(scratch, REPORTS)
    result, token = install.run_get(program, 'us.icr.io', real, None, 10)
    assert token is None and result['msg'].startswith(
        f'{name}: us.icr.io: arg=get host=us.icr.io uid={real.pw_uid} gid={real.pw_gid} ')


@as_root
def test_run_get_as_root_for_root_stays_root(tmp_path):
    program = helper(tmp_path, REPORTS)
    result, token = install.run_get(program, 'us.icr.io', pwd.getpwuid(0), None, 10)
    assert result['msg'].startswith('root: us.icr.io: arg=get host=us.icr.io uid=0 gid=0 ')


@as_root
def test_run_get_not_run_as_root_changes_no_identity(scratch, nobody, monkeypatch):
    """Only root can take a user's identity: anyone else runs the helper as itself (here: the caller's real root,
    seen as another user through geteuid)."""
    program = helper(scratch, REPORTS)
    monkeypatch.setattr(install.os, 'geteuid', lambda: 1000)
    result, token = install.run_get(program, 'us.icr.io', nobody, None, 10)
    assert result['msg'].startswith('nobody: us.icr.io: arg=get host=us.icr.io uid=0 gid=0 ')


@pytest.mark.parametrize('body', [
    'echo \'{"Username": "iamapikey", "Secret": "%s"}\'' % TOKEN,
    'echo \'{"Username": "iambearer", "Secret": ""}\'',
    'echo \'{"Username": "iambearer"}\'',
    'echo \'["iambearer", "%s"]\'' % TOKEN,
    'echo \'not json\'',
    'true',
])
def test_run_get_without_an_iam_access_token_is_not_ok(tmp_path, body):
    result, token = install.run_get(helper(tmp_path, body), 'us.icr.io', me(), None, 10)
    assert token is None
    assert result == {'ok': False, 'msg': f'{me().pw_name}: us.icr.io: docker-credential-icr answered "get" without '
                                          'an IAM access token.'}


@pytest.mark.parametrize('body, reason', [
    ('echo "credentials not found"\necho "  docker-credential-icr: IAM\n refused  it " >&2\nexit 1',
     'docker-credential-icr: IAM refused it'),
    ('echo "  credentials\n not found "\nexit 1', 'credentials not found'),
    ('echo "   "\necho " " >&2\nexit 3', 'exit 3, no message'),
    ('printf "\\377bad" >&2\nexit 1', '\ufffdbad'),
    ('printf "\\377bad"\nexit 1', '\ufffdbad'),
])
def test_run_get_that_fails_gives_the_helpers_own_one_line_reason(tmp_path, body, reason):
    result, token = install.run_get(helper(tmp_path, body), 'us.icr.io', me(), None, 10)
    assert token is None and result == {'ok': False, 'msg': f'{me().pw_name}: us.icr.io: {reason}'}


def test_a_long_reason_is_cut_at_400_characters(tmp_path):
    for size, shown in ((400, 'e' * 400), (401, 'e' * 400 + '…')):
        result, token = install.run_get(helper(tmp_path, 'printf "%s" >&2\nexit 1' % ('e' * size)), 'us.icr.io', me(),
                                        None, 10)
        assert result['msg'] == f'{me().pw_name}: us.icr.io: {shown}'


def test_run_get_that_does_not_answer_in_time_is_stopped(tmp_path):
    program = helper(tmp_path, 'exec sleep 4')  # and then answers nothing: a run without the bound fails the test
    for timeout, shown in ((0.5, '0.5'), (1.0, '1')):
        result, token = install.run_get(program, 'us.icr.io', me(), None, timeout)
        assert token is None and result == \
            {'ok': False, 'msg': f'{me().pw_name}: us.icr.io: docker-credential-icr get did not answer within {shown} '
                                 'seconds.'}


def test_run_get_of_a_program_that_cannot_start_names_it(tmp_path):
    missing = str(tmp_path / 'missing')
    result, token = install.run_get(missing, 'us.icr.io', me(), None, 10)
    assert token is None and result == \
        {'ok': False, 'msg': f'{me().pw_name}: us.icr.io: {missing} could not be started: No such file or directory.'}


# place_key

def test_place_key_writes_a_0600_file_in_a_0700_directory_once(tmp_path):
    account = me(str(tmp_path))
    path = tmp_path / '.config' / 'docker-credential-icr' / 'apikey'
    before = open_fds()
    assert install.place_key(account, str(path), API_KEY, check_mode=True) is True
    assert os.listdir(str(tmp_path)) == []
    assert install.place_key(account, str(path), API_KEY, check_mode=False) is True
    assert path.read_text() == API_KEY and mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
    assert os.listdir(str(path.parent)) == ['apikey']
    assert install.place_key(account, str(path), API_KEY, check_mode=False) is False
    assert install.place_key(account, str(path), API_KEY, check_mode=True) is False
    assert install.place_key(account, str(path), API_KEY + 'new', check_mode=True) is True
    assert path.read_text() == API_KEY
    assert install.place_key(account, str(path), API_KEY + 'new', check_mode=False) is True
    assert path.read_text() == API_KEY + 'new' and mode_of(path) == 0o600
    assert open_fds() == before


def test_place_key_puts_back_the_modes_of_the_file_and_the_directory(tmp_path):
    account = me(str(tmp_path))
    path = tmp_path / 'keys' / 'apikey'
    install.place_key(account, str(path), API_KEY, check_mode=False)
    os.chmod(str(path), 0o644)
    assert install.place_key(account, str(path), API_KEY, check_mode=True) is True and mode_of(path) == 0o644
    assert install.place_key(account, str(path), API_KEY, check_mode=False) is True and mode_of(path) == 0o600
    os.chmod(str(path.parent), 0o755)
    assert install.place_key(account, str(path), API_KEY, check_mode=True) is True and mode_of(path.parent) == 0o755
    assert install.place_key(account, str(path), API_KEY, check_mode=False) is True
    assert mode_of(path.parent) == 0o700 and path.read_text() == API_KEY
    assert install.place_key(account, str(path), API_KEY, check_mode=False) is False


def test_place_key_names_the_key_file_and_the_user_never_the_key(tmp_path):
    account = me(str(tmp_path))
    (tmp_path / 'file').write_text('')
    path = str(tmp_path / 'file' / 'apikey')
    before = open_fds()
    for check_mode in (True, False):
        with pytest.raises(ConfigFileError) as caught:
            install.place_key(account, path, API_KEY, check_mode=check_mode)
        assert caught.value.msg == (f'api_key: cannot write the key file {path} of {account.pw_name}: Not a directory. '
                                    'Nothing was written there.')
    (tmp_path / 'keys').mkdir(mode=0o700)
    (tmp_path / 'other').write_text('other')
    os.symlink(str(tmp_path / 'other'), str(tmp_path / 'keys' / 'apikey'))
    with pytest.raises(ConfigFileError) as caught:
        install.place_key(account, str(tmp_path / 'keys' / 'apikey'), API_KEY, check_mode=False)
    assert caught.value.msg == (f'api_key: the key file of {account.pw_name}: {tmp_path}/keys/apikey turned into a '
                                'symbolic link while it was being updated; refusing to follow it as root. Nothing was '
                                'written.')
    assert (tmp_path / 'other').read_text() == 'other' and open_fds() == before


@as_root
def test_place_key_writes_as_the_user(scratch, nobody):
    path = pathlib.Path(nobody.pw_dir) / '.config' / 'docker-credential-icr' / 'apikey'
    assert install.place_key(nobody, str(path), API_KEY, check_mode=False) is True
    assert path.read_text() == API_KEY and mode_of(path) == 0o600
    for made in (path, path.parent, path.parent.parent):
        assert owner_of(made) == (nobody.pw_uid, nobody.pw_gid)
    assert mode_of(path.parent) == 0o700
    outside = scratch / 'root-only' / 'apikey'
    before = open_fds()
    with pytest.raises(ConfigFileError) as caught:
        install.place_key(nobody, str(outside), API_KEY, check_mode=False)
    assert caught.value.msg == \
        f'api_key: the key file of nobody: Cannot create directory {outside.parent}: Permission denied.'
    assert API_KEY not in caught.value.msg and not outside.parent.exists()
    assert open_fds() == before and (os.geteuid(), os.getegid()) == (0, 0)


def test_place_key_writes_into_the_directory_it_checked_even_when_another_took_its_place(tmp_path, monkeypatch):
    account = me(str(tmp_path))
    keys = tmp_path / 'keys'
    keys.mkdir(mode=0o700)
    real_read_at = install.read_at

    def read_then_swap(dir_fd, name, path):
        found = real_read_at(dir_fd, name, path)
        os.rename(str(keys), str(tmp_path / 'checked'))
        keys.mkdir(mode=0o700)
        return found
    monkeypatch.setattr(install, 'read_at', read_then_swap)
    assert install.place_key(account, str(keys / 'apikey'), API_KEY, check_mode=False) is True
    assert (tmp_path / 'checked' / 'apikey').read_text() == API_KEY and os.listdir(str(keys)) == []


@as_root
def test_place_key_does_not_take_over_a_key_file_another_user_owns(nobody):
    keys = pathlib.Path(nobody.pw_dir) / 'keys'
    keys.mkdir(mode=0o700)
    os.chown(str(keys), nobody.pw_uid, nobody.pw_gid)
    path = keys / 'apikey'
    path.write_text('root-owned')
    os.chmod(str(path), 0o644)
    with pytest.raises(ConfigFileError) as caught:
        install.place_key(nobody, str(path), API_KEY, check_mode=False)
    assert caught.value.msg == (f'api_key: the key file of nobody: Cannot write {path}: Operation not permitted. The '
                                'file was left unchanged.')
    assert path.read_text() == 'root-owned' and owner_of(path) == (0, 0) and os.listdir(str(keys)) == ['apikey']
