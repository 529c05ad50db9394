# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The administrator as a trusted profile: assume with the admin key, or a compute resource token and no key."""

from __future__ import annotations

import urllib.parse

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _iam_admin as admin
from ansible_collections.icr.auth.plugins.module_utils._errors import IamError, InputError
from ansible_collections.icr.auth.plugins.module_utils._iam_admin_login import read_cr_token

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.iam_fakes import (
    ACCOUNT, ADMIN_KEY, CR_TOKEN, PROFILE_CRN, PROFILE_ID, PROFILE_NAME, FakeIam)

ASSUME = 'urn:ibm:params:oauth:grant-type:assume'
CR = 'urn:ibm:params:oauth:grant-type:cr-token'


def forms(iam):
    return [dict((k, v[0]) for k, v in urllib.parse.parse_qs(r['body'].decode()).items())
            for r in iam.requests if r['path'] == '/identity/token']


def session(iam, hidden=None, **params):
    base = {'iam_endpoint': iam.url, 'retries': 0, 'timeout': 5.0}
    base.update(params)
    return admin.AdminSession(base, {}, hide=hidden.append if hidden is not None else None)


@pytest.mark.parametrize('profile, extra, sent', [
    (PROFILE_ID, {}, {'profile_id': PROFILE_ID}),
    (PROFILE_CRN, {}, {'profile_crn': PROFILE_CRN}),
    (PROFILE_NAME, {'admin_account': ACCOUNT}, {'profile_name': PROFILE_NAME, 'account': ACCOUNT}),
])
def test_the_admin_key_assumes_the_profile(profile, extra, sent):
    with FakeIam() as iam:
        hidden = []
        s = session(iam, hidden, api_key=ADMIN_KEY, admin_trusted_profile=profile, **extra)
        s.login()
        assert s.mode == 'assume' and s.iam_id == 'iam-' + PROFILE_ID and s.account_id == ACCOUNT
        apikey, assume = forms(iam)
        assert apikey['grant_type'] == 'urn:ibm:params:oauth:grant-type:apikey' and apikey['apikey'] == ADMIN_KEY
        expected = dict(sent, grant_type=ASSUME)
        assert dict((k, v) for k, v in assume.items() if k != 'access_token') == expected
        assert assume['access_token'] in hidden and s.bearer() in hidden
        call = s.call('GET', '/v1/serviceids/', 'list', params={'account_id': ACCOUNT})
        assert call.status == 200 and iam.requests[-1]['headers']['Authorization'] == 'Bearer ' + s.bearer()


def test_a_cr_token_file_and_no_key_is_read_again_for_each_exchange(tmp_path):
    token_file = tmp_path / 'vault-token'
    token_file.write_text(CR_TOKEN + '\n')
    with FakeIam() as iam:
        hidden = []
        s = session(iam, hidden, admin_cr_token_file=str(token_file), admin_trusted_profile=PROFILE_NAME)
        assert admin.admin_secrets(dict(admin_cr_token_file=str(token_file), admin_trusted_profile=PROFILE_NAME),
                                   {'IBMCLOUD_API_KEY': ADMIN_KEY}) == []
        s.login()
        assert s.iam_id == 'iam-' + PROFILE_ID and CR_TOKEN in hidden
        assert forms(iam) == [{'grant_type': CR, 'cr_token': CR_TOKEN, 'profile_name': PROFILE_NAME}]
        iam.cr_token = 'crtoken.pod.rotated-value-rotated-value'
        token_file.write_text(iam.cr_token)
        again = session(iam, None, admin_cr_token_file=str(token_file), admin_trusted_profile=PROFILE_ID)
        again.login()
        assert forms(iam)[-1] == {'grant_type': CR, 'cr_token': iam.cr_token, 'profile_id': PROFILE_ID}


def test_a_rotated_away_cr_token_is_a_clear_error_without_the_token(tmp_path):
    token_file = tmp_path / 'vault-token'
    token_file.write_text(CR_TOKEN)
    with FakeIam() as iam:
        iam.cr_token = 'crtoken.pod.the-new-one-the-new-one'
        with pytest.raises(IamError) as info:
            session(iam, admin_cr_token_file=str(token_file), admin_trusted_profile=PROFILE_ID).login()
    msg = info.value.msg
    assert msg.startswith('admin_cr_token_file with admin_trusted_profile') and 'BXNIM0440E' in msg
    assert CR_TOKEN not in msg and 'linked' in msg


def test_a_profile_that_does_not_trust_the_key_is_a_clear_error():
    with FakeIam() as iam:
        with pytest.raises(IamError) as info:
            session(iam, api_key=ADMIN_KEY,
                    admin_trusted_profile='Profile-00000000-0000-0000-0000-000000000000').login()
        assert len(forms(iam)) == 2
    msg = info.value.msg
    assert msg.startswith("admin_trusted_profile 'Profile-0000") and 'BXNIM0441E' in msg and ADMIN_KEY not in msg


def test_a_wrong_admin_key_is_named_before_any_assume():
    with FakeIam() as iam:
        with pytest.raises(IamError, match=r'^api_key \(to assume admin_trusted_profile\).*BXNIM0415E') as info:
            session(iam, api_key='W' * 44, admin_trusted_profile=PROFILE_ID).login()
        assert [f['grant_type'] for f in forms(iam)] == ['urn:ibm:params:oauth:grant-type:apikey']
    assert 'W' * 44 not in info.value.msg


@pytest.mark.parametrize('params, option', [
    ({'admin_trusted_profile': PROFILE_NAME, 'api_key': ADMIN_KEY}, 'admin_account too'),
    ({'admin_trusted_profile': PROFILE_ID, 'admin_account': ACCOUNT, 'api_key': ADMIN_KEY}, 'admin_account: it only'),
    ({'admin_trusted_profile': 'crn:v1:bluemix:public:iam::::serviceRole:Reader', 'api_key': ADMIN_KEY},
     'not one of a trusted'),
    ({'admin_trusted_profile': 'Profile-zz', 'api_key': ADMIN_KEY}, 'not a trusted profile id'),
    ({'admin_cr_token_file': '/x'}, 'give admin_trusted_profile too'),
    ({'admin_cr_token_file': '/x', 'admin_trusted_profile': PROFILE_ID, 'api_key': ADMIN_KEY}, 'give one'),
    ({'admin_cr_token_file': '/x', 'admin_trusted_profile': PROFILE_CRN}, 'not the CRN'),
])
def test_combinations_that_cannot_work_name_the_option(params, option):
    with pytest.raises(InputError) as info:
        admin.AdminSession(dict(params, iam_endpoint='http://127.0.0.1:9', retries=0, timeout=1.0), {})
    assert option in info.value.msg.replace('IAM takes no CRN', 'not the CRN') and ADMIN_KEY not in info.value.msg


def test_cr_token_file_problems_name_the_option_and_never_the_content(tmp_path):
    with pytest.raises(InputError, match='admin_cr_token_file: cannot read'):
        read_cr_token(str(tmp_path / 'missing'))
    for content in (b'', b'two words here', b'\xff\xfe' + b'a' * 30, b'x' * 20000):
        path = tmp_path / 'bad'
        path.write_bytes(content)
        with pytest.raises(InputError) as info:
            read_cr_token(str(path))
        assert 'does not hold a compute resource token' in info.value.msg and 'two words' not in info.value.msg


@pytest.mark.parametrize('kwargs, words', [
    ({}, 'given: none'), ({'profile_id': PROFILE_ID, 'profile_crn': PROFILE_CRN}, 'given: profile_id, profile_crn'),
    ({'profile_name': PROFILE_NAME}, 'give its account id too'),
])
def test_iam_client_assume_wants_exactly_one_profile_reference(kwargs, words):
    from ansible_collections.icr.auth.plugins.module_utils._http import HttpOptions
    from ansible_collections.icr.auth.plugins.module_utils._iam import IamClient
    client = IamClient('http://127.0.0.1:9', HttpOptions.from_params({'retries': 0, 'timeout': 1.0}))
    with pytest.raises(InputError, match=words):
        client.assume('eyJ.token.x', **kwargs)
    with pytest.raises(InputError, match='profile id or name'):
        client.cr_token(CR_TOKEN)


# ---- read_cr_token, profile_text and admin_profile_token, exactly (a recording client, no network) ----

from ansible_collections.icr.auth.plugins.module_utils import _iam_admin_login as login  # noqa: E402
from ansible_collections.icr.auth.plugins.module_utils._iam import Token  # noqa: E402

HINT = ('Give the path of the compute resource token file (for example /var/run/secrets/tokens/vault-token in IKS or '
        'OpenShift) of a pod linked to admin_trusted_profile.')
ADMIN_ACCESS = 'eyJhbGciOiJub25lIn0.eyJpYW1faWQiOiJJQk1pZC1hZG1pbiJ9.c2ln'
PROFILE_ACCESS = 'eyJhbGciOiJub25lIn0.eyJpYW1faWQiOiJpYW0tUHJvZmlsZSJ9.c2ln'


def test_read_cr_token_names_the_reason_it_cannot_read(tmp_path, monkeypatch):
    missing = str(tmp_path / 'missing')
    with pytest.raises(InputError) as info:
        read_cr_token(missing)
    assert info.value.msg == 'admin_cr_token_file: cannot read %s: No such file or directory. %s' % (missing, HINT)
    with pytest.raises(InputError) as info:
        read_cr_token(str(tmp_path))
    assert info.value.msg == 'admin_cr_token_file: cannot read %s: Is a directory. %s' % (tmp_path, HINT)

    def refuse(*args):
        raise PermissionError()
    monkeypatch.setattr(login, 'open', refuse, raising=False)
    with pytest.raises(InputError) as info:
        read_cr_token('/x/token')
    assert info.value.msg == 'admin_cr_token_file: cannot read /x/token: PermissionError. %s' % HINT


@pytest.mark.parametrize('content, token', [
    (CR_TOKEN.encode() + b'\n', CR_TOKEN), (b' \t' + CR_TOKEN.encode() + b'\r\n\n', CR_TOKEN),
    (b'x' * login.MAX_CR_TOKEN, 'x' * login.MAX_CR_TOKEN), (b'a', 'a'),
])
def test_read_cr_token_takes_one_stripped_line_up_to_the_bound(tmp_path, content, token):
    path = tmp_path / 'vault-token'
    path.write_bytes(content)
    assert read_cr_token(str(path)) == token


@pytest.mark.parametrize('content, size', [
    (b'', 0), (b' \n', 2), (b'two words', 9), (b'tab\there', 8), (b'bell\x07', 5), (b'\xc3\xa9t\xc3\xa9', 5),
    (b'x' * (login.MAX_CR_TOKEN + 1), login.MAX_CR_TOKEN + 1), (b'x' * login.MAX_CR_TOKEN + b'\n', 16385),
    (b'x' * 20000, login.MAX_CR_TOKEN + 1),
])
def test_read_cr_token_refuses_what_is_no_token_with_its_size_only(tmp_path, content, size):
    path = tmp_path / 'vault-token'
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_cr_token(str(path))
    assert info.value.msg == ('admin_cr_token_file: %s does not hold a compute resource token (one line of at most '
                              '16384 printable characters; it holds %d bytes).' % (path, size))


@pytest.mark.parametrize('profile, account, text', [
    ({'profile_id': PROFILE_ID}, ACCOUNT, repr(PROFILE_ID)),
    ({'profile_crn': PROFILE_CRN}, None, repr(PROFILE_CRN)),
    ({'profile_name': PROFILE_NAME}, ACCOUNT, "'iam-admins' in account " + ACCOUNT),
    ({}, None, "''"),
])
def test_profile_text(profile, account, text):
    assert login.profile_text(profile, account) == text


class Client(object):
    """Records the grants asked for; each answers a token or raises the IamError given for it."""

    def __init__(self, **errors):
        self.errors = errors
        self.calls = []

    def _answer(self, grant, access, *args, **kwargs):
        self.calls.append((grant, args, kwargs))
        if grant in self.errors:
            raise self.errors[grant]
        return Token({'access_token': access, 'expires_in': 60})

    def apikey_token(self, *args, **kwargs):
        return self._answer('apikey', ADMIN_ACCESS, *args, **kwargs)

    def assume(self, *args, **kwargs):
        return self._answer('assume', PROFILE_ACCESS, *args, **kwargs)

    def cr_token(self, *args, **kwargs):
        return self._answer('cr_token', PROFILE_ACCESS, *args, **kwargs)


@pytest.mark.parametrize('profile, account, ref', [
    ({'profile_id': PROFILE_ID}, None, {'profile_id': PROFILE_ID}),
    ({'profile_crn': PROFILE_CRN}, None, {'profile_crn': PROFILE_CRN}),
    ({'profile_name': PROFILE_NAME}, ACCOUNT, {'profile_name': PROFILE_NAME, 'account_id': ACCOUNT}),
])
def test_assume_exchanges_the_key_then_assumes_with_its_token(profile, account, ref):
    client, hidden = Client(), []
    token = login.admin_profile_token(client, 'assume', profile, account, None, ADMIN_KEY, hidden.append)
    assert token.access_token == PROFILE_ACCESS and hidden == [ADMIN_ACCESS]
    assert client.calls == [('apikey', (ADMIN_KEY,), {}), ('assume', (ADMIN_ACCESS,), ref)]
    assert profile == dict((k, v) for k, v in ref.items() if k != 'account_id')    # the caller's dict is left alone
    again = login.admin_profile_token(Client(), 'assume', profile, account, None, ADMIN_KEY)
    assert again.access_token == PROFILE_ACCESS


def test_cr_token_reads_the_file_and_hides_the_token(tmp_path):
    path = tmp_path / 'vault-token'
    path.write_text(CR_TOKEN + '\n')
    client, hidden = Client(), []
    token = login.admin_profile_token(client, 'cr_token', {'profile_name': PROFILE_NAME}, ACCOUNT, str(path), None,
                                      hidden.append)
    assert token.access_token == PROFILE_ACCESS and hidden == [CR_TOKEN]
    assert client.calls == [('cr_token', (CR_TOKEN,), {'profile_name': PROFILE_NAME})]
    assert login.admin_profile_token(Client(), 'cr_token', {'profile_id': PROFILE_ID}, None, path, None).access_token \
        == PROFILE_ACCESS


@pytest.mark.parametrize('mode, api_key', [('assume', None), ('assume', ''), ('apikey', ADMIN_KEY), ('other', None)])
def test_a_profile_without_key_or_file_is_refused(mode, api_key):
    client = Client()
    with pytest.raises(InputError) as info:
        login.admin_profile_token(client, mode, {'profile_id': PROFILE_ID}, None, None, api_key)
    assert info.value.msg == ('admin_trusted_profile: assuming a trusted profile needs the administrator API key '
                              '(api_key).')
    assert client.calls == []


def test_each_refusal_names_the_option_and_keeps_the_details(tmp_path):
    refused = IamError('Could not do it: IAM answered HTTP 400 (X).', code='X', status=400)
    with pytest.raises(IamError) as info:
        login.admin_profile_token(Client(apikey=refused), 'assume', {'profile_id': PROFILE_ID}, None, None, ADMIN_KEY)
    assert info.value.msg == 'api_key (to assume admin_trusted_profile): Could not do it: IAM answered HTTP 400 (X).'
    assert info.value.details == {'code': 'X', 'status': 400}
    with pytest.raises(IamError) as info:
        login.admin_profile_token(Client(assume=refused), 'assume', {'profile_name': PROFILE_NAME}, ACCOUNT, None,
                                  ADMIN_KEY)
    assert info.value.msg == ("admin_trusted_profile 'iam-admins' in account %s: Could not do it: IAM answered HTTP "
                              "400 (X). Check that the profile exists and that it trusts the identity of api_key."
                              % ACCOUNT)
    assert info.value.details == {'code': 'X', 'status': 400}
    path = tmp_path / 'vault-token'
    path.write_text(CR_TOKEN)
    with pytest.raises(IamError) as info:
        login.admin_profile_token(Client(cr_token=refused), 'cr_token', {'profile_id': PROFILE_ID}, None, str(path),
                                  None)
    assert info.value.msg == ("admin_cr_token_file with admin_trusted_profile '%s': Could not do it: IAM answered HTTP "
                              "400 (X). Check that the compute resource (pod, cluster or Code Engine component) is "
                              "linked to that trusted profile and that the file holds its current token." % PROFILE_ID)
    assert info.value.details == {'code': 'X', 'status': 400}


def test_a_refused_cr_token_names_the_profile_with_its_account(tmp_path):
    path = tmp_path / 'vault-token'
    path.write_text(CR_TOKEN)
    refused = IamError('Could not do it: IAM answered HTTP 403 (BXNIM0443E: Not linked.).', code='BXNIM0443E',
                       status=403)
    with pytest.raises(IamError) as info:
        login.admin_profile_token(Client(cr_token=refused), 'cr_token', {'profile_name': PROFILE_NAME}, ACCOUNT,
                                  str(path), None)
    assert info.value.msg == ("admin_cr_token_file with admin_trusted_profile 'iam-admins' in account %s: Could not do "
                              "it: IAM answered HTTP 403 (BXNIM0443E: Not linked.). Check that the compute resource "
                              "(pod, cluster or Code Engine component) is linked to that trusted profile and that the "
                              "file holds its current token." % ACCOUNT)
    assert CR_TOKEN not in info.value.msg
