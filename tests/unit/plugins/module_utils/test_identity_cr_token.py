# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_identity_cr_token: the cr-token grant, the token file read on every exchange, the default paths."""

from __future__ import annotations

import errno
import os
import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _identity_cr_token as cr
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError
from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate
from ansible_collections.icr.auth.plugins.module_utils._identity_base import IdentityError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import FakeTransport, read_fifo_without_writer
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

NOW = 1700000000


def source(tmp_path, token='cr-token-one', answers=None, **extra):
    path = tmp_path / 'token'
    if token is not None:
        path.write_text(token + '\n')
    conf = validate(dict({'identity': 'compute_resource', 'profile_id': 'Profile-1', 'cr_token_file': str(path),
                          'iam_endpoint': 'https://iam.example.test'}, **extra))
    tr = FakeTransport(*(answers or [(200, {'access_token': iam_token(now=NOW), 'expires_in': 3600})]))
    return cr.ComputeResource(conf, tr), tr, path


def form(request):
    return dict(urllib.parse.parse_qsl(request['body'].decode()))


def test_the_cr_token_grant_is_posted_to_iam_with_the_profile(tmp_path):
    identity, tr = source(tmp_path, profile_name='deployers')[:2]
    token = identity.fetch()
    assert token.expires_at == NOW + 3600
    request = tr.requests[0]
    expected = ('POST', 'https://iam.example.test/identity/token', True)
    assert (request['method'], request['url'], request['proxy']) == expected
    assert form(request) == {'grant_type': 'urn:ibm:params:oauth:grant-type:cr-token', 'cr_token': 'cr-token-one',
                             'profile_id': 'Profile-1', 'profile_name': 'deployers'}


def test_the_token_file_is_read_again_on_every_exchange(tmp_path):
    identity, tr, path = source(tmp_path)
    identity.fetch()
    path.write_text('cr-token-two')
    identity.fetch()
    assert [form(r)['cr_token'] for r in tr.requests] == ['cr-token-one', 'cr-token-two']


def test_the_default_paths_are_the_sdks_and_tried_in_order(tmp_path, monkeypatch):
    second = tmp_path / 'sa-token'
    second.write_text('from-the-second')
    monkeypatch.setattr(cr, 'DEFAULT_CR_TOKEN_FILES', (str(tmp_path / 'vault-token'), str(second)))
    identity = cr.ComputeResource(validate({'identity': 'compute_resource', 'profile_id': 'P'}), FakeTransport())
    assert identity.read_cr_token() == 'from-the-second'


def test_the_sdk_default_list():
    assert cr.DEFAULT_CR_TOKEN_FILES == ('/var/run/secrets/tokens/vault-token', '/var/run/secrets/tokens/sa-token',
                                         '/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token')


def test_no_token_file_anywhere_names_the_paths_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(cr, 'DEFAULT_CR_TOKEN_FILES', (str(tmp_path / 'a'), str(tmp_path / 'b')))
    identity = cr.ComputeResource(validate({'identity': 'compute_resource', 'profile_id': 'P'}), FakeTransport())
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert f"tried {tmp_path / 'a'}, {tmp_path / 'b'}); set cr_token_file" in caught.value.msg


def test_a_missing_configured_file_is_named(tmp_path):
    identity = source(tmp_path, token=None)[0]
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert caught.value.msg.startswith(f"the compute-resource token file {tmp_path / 'token'} does not exist")


@pytest.mark.parametrize('content, says', [('', 'empty, or white space'), ('two words', 'empty, or white space')])
def test_a_file_without_a_token_is_refused_without_showing_it(tmp_path, content, says):
    identity = source(tmp_path, token=content)[0]
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert says in caught.value.msg and (not content or content not in caught.value.msg)


def test_iam_refusals_are_mapped_as_everywhere_and_never_show_the_cr_token(tmp_path):
    answers = [(400, {'errorCode': 'BXNIM0999E', 'errorMessage': 'profile not found'})]
    identity = source(tmp_path, answers=answers)[0]
    with pytest.raises(IamError) as caught:
        identity.fetch()
    assert caught.value.msg == ('Could not exchange the compute-resource token: IAM answered HTTP 400 (BXNIM0999E: '
                                'profile not found).')
    assert 'cr-token-one' not in caught.value.msg


def test_the_token_file_is_opened_without_blocking_or_leaking_to_children(tmp_path, monkeypatch):
    calls = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        calls.append((path, flags))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(cr.os, 'open', spy)
    path = tmp_path / 'token'
    path.write_text('cr-token-one\n')
    assert cr.read_token_file(str(path)) == 'cr-token-one'
    assert calls == [(str(path), os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)]


def test_a_fifo_without_a_writer_is_refused_without_waiting(tmp_path):
    error, seconds = read_fifo_without_writer(tmp_path, 'token', cr.read_token_file, IdentityError)
    fifo = tmp_path / 'token'
    assert error.msg == (f'the compute-resource token file {fifo} does not hold a token (empty, or white space '
                         'inside)')
    assert seconds < 1.5


def test_read_errors_word_for_word(tmp_path, monkeypatch):
    with pytest.raises(IdentityError) as caught:
        cr.read_token_file(str(tmp_path))
    assert caught.value.msg == f'cannot read the compute-resource token file {tmp_path}: Is a directory'
    assert cr.read_token_file(str(tmp_path / 'none' / 'token')) is None

    def refused(path, *args, **kwargs):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(cr.os, 'open', refused)
    with pytest.raises(IdentityError) as caught:
        cr.read_token_file(str(tmp_path / 'token'))
    assert caught.value.msg == f"cannot read the compute-resource token file {tmp_path / 'token'}: Permission denied"


def test_the_size_bound_and_content_refusals_word_for_word(tmp_path):
    path = tmp_path / 'token'
    path.write_text('t' * cr.MAX_TOKEN_SIZE)
    assert cr.read_token_file(str(path)) == 't' * cr.MAX_TOKEN_SIZE
    path.write_text('t' * (cr.MAX_TOKEN_SIZE + 1))
    with pytest.raises(IdentityError) as caught:
        cr.read_token_file(str(path))
    assert caught.value.msg == f'the compute-resource token file {path} is larger than 65536 bytes; check cr_token_file'
    path.write_bytes('clé'.encode())
    with pytest.raises(IdentityError) as caught:
        cr.read_token_file(str(path))
    assert caught.value.msg == f'the compute-resource token file {path} does not hold a token (not ASCII text)'


def test_missing_files_word_for_word(tmp_path, monkeypatch):
    identity = source(tmp_path, token=None)[0]
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert caught.value.msg == (f"the compute-resource token file {tmp_path / 'token'} does not exist; check "
                                "cr_token_file and the workload's projected service account token volume")
    monkeypatch.setattr(cr, 'DEFAULT_CR_TOKEN_FILES', (str(tmp_path / 'a'), str(tmp_path / 'b')))
    identity = cr.ComputeResource(validate({'identity': 'compute_resource', 'profile_id': 'P'}), FakeTransport())
    with pytest.raises(IdentityError) as caught:
        identity.fetch()
    assert caught.value.msg == (f"no compute-resource token file was found (tried {tmp_path / 'a'}, {tmp_path / 'b'}); "
                                'set cr_token_file, or run where a compute-resource token is mounted (IKS, OpenShift, '
                                'Code Engine)')
