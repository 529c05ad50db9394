# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_identity_vpc: both metadata API versions, the profile by id, CRN or default, and the errors."""

from __future__ import annotations

import json

import pytest

from ansible_collections.icr.auth.plugins.module_utils._helper_config import validate
from ansible_collections.icr.auth.plugins.module_utils._identity_base import IdentityError
from ansible_collections.icr.auth.plugins.module_utils._identity_vpc import VpcTrustedProfile
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import TransportError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import FakeTransport
from ansible_collections.icr.auth.tests.unit.plugins.module_utils.jwt_helpers import iam_token

NOW = 1700000000
IDENTITY_TOKEN = 'instance-identity-token-value'


def config(**extra):
    return validate(dict({'identity': 'vpc_trusted_profile'}, **extra))


def run(conf, *answers):
    access = iam_token(iam_id='iam-Profile-1', now=NOW, lifetime=3600)
    answers = answers or ((200, {'access_token': IDENTITY_TOKEN, 'expires_in': 300}),
                          (200, {'access_token': access, 'expires_in': 3600}))
    tr = FakeTransport(*answers)
    return VpcTrustedProfile(conf, tr).fetch(), tr, access


@pytest.mark.parametrize('version, first, second', [
    ('2025-08-26', '/identity/v1/token', '/identity/v1/iam_tokens'),
    ('2022-03-01', '/instance_identity/v1/token', '/instance_identity/v1/iam_token'),
])
@pytest.mark.parametrize('base', ['http://169.254.169.254', 'https://api.metadata.cloud.ibm.com'])
def test_both_versions_and_hosts_speak_the_documented_paths(version, first, second, base):
    token, tr, access = run(config(metadata_version=version, metadata_endpoint=base + '/'))
    assert (token.token, token.expires_at) == (access, NOW + 3600)
    put, post = tr.requests
    assert (put['method'], put['url']) == ('PUT', f'{base}{first}?version={version}')
    assert (post['method'], post['url']) == ('POST', f'{base}{second}?version={version}')
    for request in tr.requests:
        assert request['headers']['Metadata-Flavor'] == 'ibm' and request['proxy'] is False
    assert json.loads(put['body']) == {'expires_in': 300} and 'Authorization' not in put['headers']
    assert post['headers']['Authorization'] == 'Bearer ' + IDENTITY_TOKEN


@pytest.mark.parametrize('extra, body', [
    ({}, None),
    ({'trusted_profile_id': 'Profile-1'}, {'trusted_profile': {'id': 'Profile-1'}}),
    ({'trusted_profile_crn': 'crn:v1:bluemix:public:iam-identity::a/1::profile:Profile-1'},
     {'trusted_profile': {'crn': 'crn:v1:bluemix:public:iam-identity::a/1::profile:Profile-1'}}),
])
def test_the_profile_is_named_by_id_or_crn_or_left_to_the_instance_default(extra, body):
    tr = run(config(**extra))[1]
    sent = tr.requests[1]['body']
    assert (json.loads(sent) if sent else None) == body


def test_the_default_is_the_new_version_on_the_link_local_address():
    tr = run(config())[1]
    assert tr.requests[0]['url'] == 'http://169.254.169.254/identity/v1/token?version=2025-08-26'


@pytest.mark.parametrize('status, body, says', [
    (404, {'errors': [{'code': 'not_found', 'message': 'Not Found'}]}, 'HTTP 404 (not_found: Not Found). Check '
     'metadata_endpoint and metadata_version'),
    (403, {'errors': [{'code': 'forbidden', 'message': 'no'}]}, 'trusts this instance'),
    (500, b'<html>oops</html>', 'answered HTTP 500.'),
])
def test_errors_of_the_identity_token_step_name_the_service_and_cause(status, body, says):
    with pytest.raises(IdentityError) as caught:
        run(config(), (status, body))
    assert caught.value.msg.startswith('could not get the instance identity token (is the metadata service enabled')
    assert 'the VPC instance metadata service at http://169.254.169.254/identity/v1/token' in caught.value.msg
    assert says in caught.value.msg


def test_an_error_of_the_second_step_never_shows_the_identity_token():
    with pytest.raises(IdentityError) as caught:
        run(config(), (200, {'access_token': IDENTITY_TOKEN}), (400, {'errors': [{'code': 'bad', 'message': 'x'}]}))
    assert caught.value.msg.startswith('could not get an IAM token for the trusted profile')
    assert 'link a default profile to the instance or set trusted_profile_id' in caught.value.msg
    assert IDENTITY_TOKEN not in caught.value.msg


def test_a_200_without_a_token_is_an_error():
    with pytest.raises(IdentityError) as caught:
        run(config(), (200, b'garbage'))
    assert 'answered HTTP 200 with a body that is not a token answer (7 bytes)' in caught.value.msg


def test_a_token_without_any_expiry_is_refused():
    with pytest.raises(IdentityError) as caught:
        run(config(), (200, {'access_token': IDENTITY_TOKEN}), (200, {'access_token': 'opaque'}))
    assert 'carries no expiry' in caught.value.msg


def test_transport_errors_pass_through():
    with pytest.raises(TransportError):
        run(config(), TransportError('the VPC instance metadata service at x did not answer within 5 seconds'))


def test_the_cache_key_tells_profiles_apart_and_holds_no_profile_text():
    one = VpcTrustedProfile(config(trusted_profile_id='Profile-1'), None).cache_key()
    two = VpcTrustedProfile(config(trusted_profile_id='Profile-2'), None).cache_key()
    assert one != two and one.startswith('vpc_trusted_profile-') and 'Profile' not in one
    assert one == VpcTrustedProfile(config(trusted_profile_id='Profile-1', timeout=9), None).cache_key()


def test_every_request_is_json_to_the_metadata_service_without_a_proxy():
    # _url drops trailing slashes itself, whatever the configuration it is given holds
    tr = run(dict(config(), metadata_endpoint='http://md.example/X//'))[1]
    put, post = tr.requests
    for request in tr.requests:
        assert request['what'] == 'the VPC instance metadata service'
        assert request['url'].startswith('http://md.example/X/identity/v1/')
        assert {k: v for k, v in request['headers'].items() if k != 'Authorization'} == {
            'Metadata-Flavor': 'ibm', 'Content-Type': 'application/json'}
    # no profile named: the POST has no body at all (not the JSON text null), so the instance's default applies
    assert post['body'] is None and put['body'] == b'{"expires_in": 300}'


ADVICE = {
    404: ' Check metadata_endpoint and metadata_version (2025-08-26 uses /identity/v1, 2022-03-01 '
         '/instance_identity/v1; bare metal servers know only the first).',
    401: ' Check that the trusted profile exists, trusts this instance (compute resource) and that the instance may '
         'use it.',
    403: ' Check that the trusted profile exists, trusts this instance (compute resource) and that the instance may '
         'use it.',
    400: ' No trusted profile was named: link a default profile to the instance or set trusted_profile_id.',
    402: '',
    300: '',
    500: '',
}


@pytest.mark.parametrize('status', sorted(ADVICE))
def test_each_status_gets_its_advice_word_for_word(status):
    with pytest.raises(IdentityError) as caught:
        run(config(), (status, {'access_token': 'not-read', 'errors': [{'code': 'c', 'message': 'm'}]}))
    url = 'http://169.254.169.254/identity/v1/token?version=2025-08-26'
    assert caught.value.msg == ('could not get the instance identity token (is the metadata service enabled on this '
                                f'instance?): the VPC instance metadata service at {url} answered HTTP {status} '
                                f'(c: m).{ADVICE[status]}')


@pytest.mark.parametrize('extra', [{'trusted_profile_id': 'Profile-1'},
                                   {'trusted_profile_crn': 'crn:v1:bluemix:public:iam-identity::a/1::profile:P'}])
def test_a_400_with_a_named_profile_does_not_say_none_was_named(extra):
    with pytest.raises(IdentityError) as caught:
        run(config(**extra), (200, {'access_token': IDENTITY_TOKEN}), (400, {}))
    assert caught.value.msg.endswith('answered HTTP 400.')


@pytest.mark.parametrize('body, text', [
    ({'errors': [{'code': 'bad_request', 'message': 'Bad'}]}, ' (bad_request: Bad)'),
    ({'errors': [{'code': 'bad_request', 'message': ''}]}, ' (bad_request)'),
    ({'errors': [{'code': 7, 'message': 'Bad'}]}, ' (Bad)'),
    ({'errors': ['text'], 'code': 'top', 'message': 'level'}, ' (top: level)'),
    ({'errors': [], 'code': 'top'}, ' (top)'),
    ({'errors': 'text', 'message': 'level'}, ' (level)'),
    ({'errors': [{'other': 1}]}, ''),
    ({}, ''),
    ([{'code': 'x'}], ''),
])
def test_the_error_text_of_an_answer(body, text):
    with pytest.raises(IdentityError) as caught:
        run(config(), (500, body))
    assert caught.value.msg.endswith(f'answered HTTP 500{text}.')
