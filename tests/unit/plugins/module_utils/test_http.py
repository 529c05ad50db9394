# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_http: connection options, the session (retries, proxy, CA), and the sentences that describe failures."""

from __future__ import annotations

import ssl

import pytest
import requests
from urllib3.exceptions import MaxRetryError

from ansible_collections.icr.auth.plugins.module_utils import _http as http
from ansible_collections.icr.auth.plugins.module_utils._errors import InputError

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.fake_http import FakeServer

URL = 'https://iam.example.test/identity/token'


@pytest.fixture()
def ca_file(tmp_path):
    path = tmp_path / 'ca.pem'
    path.write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    return str(path)


def test_from_params_defaults():
    opts = http.HttpOptions.from_params({})
    assert (opts.timeout, opts.retries, opts.validate_certs, opts.ca_path, opts.proxy) == (30.0, 4, True, None, None)
    assert opts.backoff_factor == http.BACKOFF_FACTOR


def test_from_params_takes_each_option(ca_file):
    opts = http.HttpOptions.from_params({'timeout': 7, 'retries': 2, 'validate_certs': False, 'ca_path': ca_file,
                                         'proxy': 'http://proxy.example.test:3128', 'ignored': 1})
    assert (opts.timeout, opts.retries, opts.validate_certs, opts.ca_path, opts.proxy) == (
        7.0, 2, False, ca_file, 'http://proxy.example.test:3128')
    assert isinstance(opts.timeout, float) and isinstance(opts.retries, int)


@pytest.mark.parametrize('kwargs, start', [
    ({'timeout': 0}, 'timeout:'), ({'timeout': -1}, 'timeout:'), ({'timeout': None}, 'timeout:'),
    ({'retries': -1}, 'retries:'), ({'retries': 21}, 'retries:'), ({'retries': None}, 'retries:'),
    ({'ca_path': '/nonexistent/ca.pem'}, 'ca_path: /nonexistent/ca.pem is not'),
])
def test_options_that_cannot_work_are_refused(kwargs, start):
    with pytest.raises(InputError) as caught:
        http.HttpOptions(**kwargs)
    assert caught.value.msg.startswith(start)


def test_retries_bounds_are_allowed():
    assert http.HttpOptions(retries=0).retries == 0 and http.HttpOptions(retries=20).retries == 20


def test_session_verifies_with_system_cas_by_default_and_carries_the_user_agent():
    session = http.make_session(http.HttpOptions())
    assert session.verify is True and session.headers['User-Agent'] == http.USER_AGENT
    assert not session.proxies


def test_session_verifies_with_ca_path(ca_file, monkeypatch):
    session = http.make_session(http.HttpOptions(ca_path=ca_file))
    assert session.verify == ca_file
    # The CA given wins over the environment's bundle.
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/other-bundle.pem')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/etc/other-bundle.pem')
    assert session.merge_environment_settings(URL, {}, False, None, None)['verify'] == ca_file


def test_validate_certs_false_turns_verification_off_even_with_ca_path(ca_file, monkeypatch):
    session = http.make_session(http.HttpOptions(validate_certs=False, ca_path=ca_file))
    assert session.verify is False
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/other-bundle.pem')
    assert session.merge_environment_settings(URL, {}, False, None, None)['verify'] is False


def test_session_uses_the_proxy_for_both_schemes():
    session = http.make_session(http.HttpOptions(proxy='http://proxy.example.test:3128'))
    assert session.proxies == {'http': 'http://proxy.example.test:3128', 'https': 'http://proxy.example.test:3128'}


@pytest.mark.parametrize('scheme', ['http://', 'https://'])
def test_session_retries_as_configured(scheme):
    session = http.make_session(http.HttpOptions(retries=3, backoff_factor=0.25))
    retry = session.get_adapter(scheme + 'example.test').max_retries
    assert (retry.total, retry.connect, retry.read, retry.status) == (3, 3, 3, 3)
    assert retry.backoff_factor == 0.25
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert retry.respect_retry_after_header and not retry.raise_on_status
    assert {'GET', 'POST'} <= set(retry.allowed_methods)


def test_a_server_error_is_retried_until_it_answers():
    with FakeServer((503, {}, b'busy'), (502, {}, b'busy'), (200, {}, b'done')) as server:
        response = http.make_session(http.HttpOptions(retries=2, backoff_factor=0)).post(server.url + '/t', timeout=5)
        assert response.status_code == 200 and len(server.requests) == 3


def test_retries_stop_at_the_configured_number():
    with FakeServer((503, {}, b'busy')) as server:
        response = http.make_session(http.HttpOptions(retries=1, backoff_factor=0)).get(server.url + '/t', timeout=5)
        assert response.status_code == 503 and len(server.requests) == 2


def test_a_client_error_is_not_retried():
    with FakeServer((400, {}, b'no')) as server:
        response = http.make_session(http.HttpOptions(retries=3, backoff_factor=0)).post(server.url + '/t', timeout=5)
        assert response.status_code == 400 and len(server.requests) == 1


@pytest.mark.parametrize('value, seconds', [('2', 2.0), ('1.5', 1.5), ('100000', http.MAX_RETRY_AFTER),
                                            ('soon', 0.0), ('-3', 0.0)])
def test_retry_after_is_read_leniently_and_capped(value, seconds):
    retry = http.make_session(http.HttpOptions()).get_adapter('https://x').max_retries
    assert retry.parse_retry_after(value) == seconds


@pytest.mark.parametrize('value, seconds', [('1.5', 1.5), (' 2 ', 2.0), ('0', 0.0), ('-1', 0.0), ('nan', 0.0),
                                            ('inf', 0.0), ('soon', 0.0), ('', 0.0), (None, 0.0)])
def test_lenient_retry_after(value, seconds):
    assert http.lenient_retry_after(value) == seconds


def test_a_tls_error_is_never_retried():
    retry = http.make_session(http.HttpOptions(retries=4)).get_adapter('https://x').max_retries
    with pytest.raises(MaxRetryError):
        retry.increment('GET', URL, error=ssl.SSLError('certificate verify failed'))
    after = retry.increment('GET', URL, error=ConnectionResetError('reset'))
    assert after.total == 3


@pytest.mark.parametrize('retries, text', [(0, '1 attempt'), (1, '2 attempts'), (4, '5 attempts')])
def test_attempts_text(retries, text):
    assert http.attempts_text(http.HttpOptions(retries=retries)) == text


def wrapped(outer, inner):
    """A requests exception as requests raises it: outer(MaxRetryError(reason=inner))."""
    return outer(MaxRetryError(None, URL, inner))


def test_is_tls_error_looks_through_the_wrapping():
    assert http.is_tls_error(wrapped(requests.exceptions.SSLError, ssl.SSLError('wrong version number')))
    assert http.is_tls_error(ssl.SSLCertVerificationError('certificate verify failed'))
    assert not http.is_tls_error(wrapped(requests.exceptions.ConnectionError, ConnectionRefusedError('refused')))
    assert not http.is_tls_error(ValueError('x'))


def test_is_cert_verification_error_tells_a_bad_certificate_from_plain_http():
    bad_cert = wrapped(requests.exceptions.SSLError, ssl.SSLCertVerificationError('certificate verify failed'))
    plain = wrapped(requests.exceptions.SSLError, ssl.SSLError('[SSL: WRONG_VERSION_NUMBER] wrong version number'))
    assert http.is_cert_verification_error(bad_cert)
    assert http.is_cert_verification_error(requests.exceptions.SSLError('[SSL: CERTIFICATE_VERIFY_FAILED] x'))
    assert not http.is_cert_verification_error(plain)


def test_describe_a_tls_failure_says_what_to_do_about_ca_path(ca_file):
    exc = wrapped(requests.exceptions.SSLError,
                  ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))
    text = http.describe_exception(exc, 'IBM Cloud IAM', URL, http.HttpOptions())
    assert text == ('TLS verification of IBM Cloud IAM at %s failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate '
                    'verify failed; give ca_path with the CA that signed its certificate.' % URL)
    text = http.describe_exception(exc, 'IBM Cloud IAM', URL, http.HttpOptions(ca_path=ca_file))
    assert text.endswith('check that ca_path (%s) holds the CA that signed its certificate.' % ca_file)


def test_describe_a_timeout_gives_the_seconds_and_attempts():
    for exc in (requests.exceptions.ReadTimeout('read timed out'),
                wrapped(requests.exceptions.ConnectionError, TimeoutError('timed out'))):
        text = http.describe_exception(exc, 'the registry', URL, http.HttpOptions(timeout=2.5, retries=1))
        assert text == ('the registry at %s did not answer within 2.5 seconds (2 attempts). Check the network path '
                        'or raise timeout.' % URL)


def test_describe_a_proxy_and_a_connection_failure():
    text = http.describe_exception(wrapped(requests.exceptions.ProxyError, OSError('tunnel refused')), 'IAM', URL,
                                   http.HttpOptions())
    assert text == 'The proxy refused or failed the request to IAM at %s: tunnel refused.' % URL
    text = http.describe_exception(wrapped(requests.exceptions.ConnectionError, ConnectionRefusedError('refused')),
                                   'IAM', URL, http.HttpOptions(retries=0))
    assert text == ('IAM at %s could not be reached (1 attempt): refused. Check the endpoint, DNS, proxy and '
                    'firewall.' % URL)


def test_describe_anything_else_with_the_innermost_reason():
    text = http.describe_exception(requests.exceptions.InvalidURL('bad url'), 'IAM', URL, http.HttpOptions())
    assert text == 'The request to IAM at %s failed: bad url.' % URL
    text = http.describe_exception(wrapped(requests.exceptions.ChunkedEncodingError, ValueError('bad chunk')), 'IAM',
                                   URL, http.HttpOptions())
    assert text == 'The request to IAM at %s failed: bad chunk.' % URL


def test_requests_missing_error_says_how_to_get_it():
    err = http.requests_missing_error(ImportError('No module named requests'))
    assert 'pip install requests' in err.msg and 'icr.auth.icr_credential' in err.msg
    assert 'No module named requests' in err.msg


def test_requests_missing_error_word_for_word():
    err = http.requests_missing_error(ImportError('No module named requests'))
    assert err.msg == ('This needs the Python library "requests" where the module runs (No module named requests). '
                       'Install it (pip install requests, or the python3-requests package), or run the network part '
                       'on the controller with icr.auth.icr_credential and pass its result to icr.auth.icr_login.')


def test_lenient_retry_after_keeps_a_fraction_below_one_second():
    assert http.lenient_retry_after('0.5') == 0.5


def test_chain_follows_at_most_eight_wrappings():
    exc = ValueError('innermost')
    for level in range(12):
        exc = MaxRetryError(None, URL, exc)
    assert len(http._chain(exc)) == 8


def test_chain_prefers_the_reason_to_the_first_argument():
    reason, argument = OSError('the reason'), OSError('the argument')
    exc = MaxRetryError(None, URL, reason)
    exc.args = (argument,)
    assert http._chain(exc) == [exc, reason]
    bare = MaxRetryError(None, URL, reason)
    bare.args = ()
    assert http._chain(bare) == [bare, reason]


def test_chain_stops_at_a_reason_that_is_not_an_exception():
    import urllib.error
    exc = urllib.error.URLError('name does not resolve')
    assert http._chain(exc) == [exc]
    assert http.describe_exception(exc, 'IAM', URL, http.HttpOptions()) == (
        'The request to IAM at %s failed: <urlopen error name does not resolve>.' % URL)


class SSLError(Exception):
    """Named like a TLS error without deriving from ssl.SSLError (as some wrappers are)."""


class ConnectTimeoutError(Exception):
    """Named like a timeout without deriving from TimeoutError (as urllib3's are)."""


def test_a_tls_error_is_also_known_by_its_class_name():
    assert http.is_tls_error(SSLError('handshake'))
    assert http.is_tls_error(wrapped(requests.exceptions.ConnectionError, SSLError('handshake')))


def test_a_timeout_is_also_known_by_its_class_name():
    exc = wrapped(requests.exceptions.ConnectionError, ConnectTimeoutError('connect timed out'))
    assert http.describe_exception(exc, 'IAM', URL, http.HttpOptions(timeout=3, retries=0)) == (
        'IAM at %s did not answer within 3 seconds (1 attempt). Check the network path or raise timeout.' % URL)


def test_a_timeout_below_one_second_is_allowed():
    assert http.HttpOptions(timeout=0.5).timeout == 0.5


def test_without_requests_the_message_carries_the_import_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, 'requests', None)
    with pytest.raises(Exception) as err:
        http.make_session(http.HttpOptions())
    assert 'This needs the Python library "requests" where the module runs (import of requests halted' in str(
        err.value.msg)


def test_a_tls_error_ends_the_retries_with_the_pool_url_and_cause():
    retry = http.make_session(http.HttpOptions(retries=4)).get_adapter('https://x').max_retries
    error, pool = ssl.SSLError('certificate verify failed'), object()
    with pytest.raises(MaxRetryError) as err:
        retry.increment('GET', URL, error=error, _pool=pool)
    assert (err.value.pool, err.value.url, err.value.reason) == (pool, URL, error)


def test_a_retry_records_what_it_retried_and_an_exhausted_one_names_the_pool():
    from urllib3.util.retry import RequestHistory
    retry = http.make_session(http.HttpOptions(retries=1)).get_adapter('https://x').max_retries
    error, pool = ConnectionResetError('reset'), object()
    after = retry.increment('POST', URL, error=error, _pool=pool)
    assert after.history == (RequestHistory('POST', URL, error, None, None),)
    with pytest.raises(MaxRetryError) as err:
        after.increment('POST', URL, error=error, _pool=pool)
    assert err.value.pool is pool and err.value.url == URL
    read = http.make_session(http.HttpOptions(retries=1)).get_adapter('https://x').max_retries
    from urllib3.exceptions import ReadTimeoutError
    timeout = ReadTimeoutError(pool, URL, 'read timed out')
    assert read.increment('POST', URL, error=timeout, _pool=pool).history[0].method == 'POST'


def test_the_environment_settings_merge_keeps_what_the_request_asks(monkeypatch):
    for name in ('no_proxy', 'NO_PROXY', 'all_proxy', 'ALL_PROXY', 'http_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('https_proxy', 'http://proxy.example.test:3128')
    session = http.make_session(http.HttpOptions())
    settings = session.merge_environment_settings(URL, {}, True, False, '/etc/client.pem')
    assert settings == {'proxies': {'https': 'http://proxy.example.test:3128'}, 'stream': True, 'verify': False,
                        'cert': '/etc/client.pem'}


def test_insecure_warnings_are_silenced_only_without_verification(monkeypatch):
    import urllib3
    silenced = []
    monkeypatch.setattr(urllib3, 'disable_warnings', silenced.append)
    http.make_session(http.HttpOptions())
    assert silenced == []
    http.make_session(http.HttpOptions(validate_certs=False))
    assert silenced == [urllib3.exceptions.InsecureRequestWarning]


def test_the_fallback_for_urllib3_before_1_26_retries_get_and_post(monkeypatch):
    import urllib3.util.retry
    real = urllib3.util.retry.Retry

    class OldRetry(real):
        """urllib3 < 1.26: method_whitelist, no allowed_methods."""

        def __init__(self, *args, **kwargs):
            if 'allowed_methods' in kwargs:
                raise TypeError("unexpected keyword argument 'allowed_methods'")
            kwargs['allowed_methods'] = kwargs.pop('method_whitelist')
            real.__init__(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.retry, 'Retry', OldRetry)
    retry = http.make_session(http.HttpOptions(retries=3)).get_adapter('https://x').max_retries
    assert isinstance(retry, OldRetry) and retry.allowed_methods == frozenset(['GET', 'POST'])
    assert (retry.total, retry.connect, retry.read, retry.status) == (3, 3, 3, 3)
    assert retry.status_forcelist == http.RETRY_STATUSES and retry.backoff_factor == http.BACKOFF_FACTOR


def test_a_status_retry_counts_against_the_status_budget():
    from urllib3.response import HTTPResponse
    retry = http.make_session(http.HttpOptions(retries=2)).get_adapter('https://x').max_retries
    after = retry.increment('GET', URL, response=HTTPResponse(status=503, preload_content=False))
    assert (after.total, after.status, after.history[0].status) == (1, 1, 503)
