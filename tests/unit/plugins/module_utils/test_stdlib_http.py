# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_stdlib_http: timeouts, bounded retries, Retry-After, redirects, proxies and CA files, against 127.0.0.1."""

from __future__ import annotations

import email.utils
import time

import pytest

from ansible_collections.icr.auth.plugins.module_utils import _stdlib_http as sh

from ansible_collections.icr.auth.tests.unit.plugins.module_utils.helper_fakes import (
    ScriptServer,
    SilentServer,
    free_port_url,
)


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch):
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'all_proxy',
                 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)


def transport(**kwargs):
    sleeps = []
    kwargs.setdefault('sleep', sleeps.append)
    return sh.Transport(**kwargs), sleeps


def test_a_plain_answer_is_returned_with_its_headers_and_body():
    with ScriptServer((200, {'X-Thing': 'a'}, {'access_token': 't'})) as server:
        tr = transport()[0]
        answer = tr.request('PUT', server.url + '/p?x=1', 'the thing', headers={'H': 'v'}, body=b'{}')
    assert (answer.status, answer.headers['x-thing'], answer.json()) == (200, 'a', {'access_token': 't'})
    sent = server.requests[0]
    assert (sent['method'], sent['path'], sent['headers']['H'], sent['body']) == ('PUT', '/p?x=1', 'v', b'{}')
    assert sent['headers']['User-Agent'] == sh.USER_AGENT


def test_an_error_status_is_an_answer_not_an_exception():
    with ScriptServer((400, {}, b'not json')) as server:
        answer = transport()[0].request('POST', server.url, 'IAM')
    assert (answer.status, answer.json()) == (400, None)


def test_5xx_and_429_are_retried_with_backoff_then_answered():
    with ScriptServer((503, {}, b''), (429, {}, b''), (200, {}, {'ok': 1})) as server:
        tr, sleeps = transport(retries=2)
        answer = tr.request('POST', server.url, 'IAM')
    assert answer.status == 200 and len(server.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_retries_are_bounded_and_the_last_answer_is_returned():
    with ScriptServer((502, {}, b'')) as server:
        tr, sleeps = transport(retries=1)
        answer = tr.request('POST', server.url, 'IAM')
    assert answer.status == 502 and len(server.requests) == 2 and len(sleeps) == 1


def test_retry_after_is_respected_but_capped():
    with ScriptServer((429, {'Retry-After': '3600'}, b''), (429, {'Retry-After': '2'}, b''), (200, {}, b'')) as server:
        tr, sleeps = transport(retries=3)
        tr.request('POST', server.url, 'IAM')
    assert sleeps == [sh.MAX_RETRY_AFTER, 2.0]


@pytest.mark.parametrize('value, seconds', [
    ('1.5', 1.5), ('0', 0.0), ('-4', 0.0), ('99999', sh.MAX_RETRY_AFTER), ('soon', None), ('', None), (None, None),
    ('nan', None), ('inf', None),
])
def test_retry_after_values(value, seconds):
    assert sh.retry_after(value) == seconds


def test_retry_after_as_an_http_date():
    when = email.utils.formatdate(1000 + 4, usegmt=True)
    assert sh.retry_after(when, now=1000) == pytest.approx(4)


def test_a_service_that_never_answers_fails_with_the_timeout_message_well_below_30_seconds():
    with SilentServer() as server:
        tr, sleeps = transport(timeout=1, retries=3)
        start = time.monotonic()
        with pytest.raises(sh.TransportError) as caught:
            tr.request('PUT', server.url + '/identity/v1/token', 'the VPC instance metadata service', proxy=False)
        elapsed = time.monotonic() - start
    assert 'the VPC instance metadata service at http://127.0.0.1:' in caught.value.msg
    assert 'did not answer within 1 seconds (1 attempt)' in caught.value.msg
    # A timed-out request is not retried: the bound is one timeout, not (retries + 1) of them.
    assert sleeps == [] and elapsed < 10


def test_a_refused_connection_is_retried_then_named():
    tr, sleeps = transport(retries=2)
    url = free_port_url()
    with pytest.raises(sh.TransportError) as caught:
        tr.request('POST', url, 'IBM Cloud IAM')
    assert caught.value.msg.startswith(f'IBM Cloud IAM at {url} could not be reached (3 attempts): ')
    assert 'refused' in caught.value.msg.lower() and len(sleeps) == 2


def test_redirects_are_not_followed():
    with ScriptServer((302, {'Location': 'http://127.0.0.1:1/elsewhere'}, b'')) as server:
        answer = transport()[0].request('POST', server.url, 'IAM', headers={'Authorization': 'Bearer x'})
    assert answer.status == 302 and len(server.requests) == 1


def test_the_proxy_variables_apply_unless_the_request_says_no(monkeypatch):
    with ScriptServer((200, {}, b'proxied')) as proxy:
        monkeypatch.setenv('http_proxy', proxy.url)
        with ScriptServer((200, {}, b'direct')) as target:
            via = transport()[0].request('POST', target.url + '/identity/token', 'IAM')
            direct = transport()[0].request('PUT', target.url + '/identity/v1/token', 'metadata', proxy=False)
    assert via.body == b'proxied' and proxy.requests[0]['path'] == target.url + '/identity/token'
    assert direct.body == b'direct' and len(proxy.requests) == 1


@pytest.mark.parametrize('host, link_local', [
    ('169.254.169.254', True), ('[fe80::1]', True), ('127.0.0.1', False), ('api.metadata.cloud.ibm.com', False),
    ('10.0.0.1', False),
])
def test_link_local_addresses_are_never_proxied(monkeypatch, host, link_local):
    monkeypatch.setenv('http_proxy', 'http://127.0.0.1:3128')
    handlers = transport()[0]._opener(host.strip('[]'), proxy=True).handlers
    proxies = [h.proxies for h in handlers if hasattr(h, 'proxies')]
    assert sh.is_link_local(host) is link_local
    assert (not any(proxies)) is link_local


def test_an_unreadable_ca_file_is_named(tmp_path):
    tr = transport(ca_path=str(tmp_path / 'missing.pem'))[0]
    with pytest.raises(sh.TransportError) as caught:
        tr.request('POST', 'https://127.0.0.1:1/identity/token', 'IAM')
    assert caught.value.msg.startswith(f"ca_path: cannot load CA certificates from {tmp_path / 'missing.pem'}")


def test_tls_to_a_plain_http_server_fails_with_a_tls_message():
    with ScriptServer((200, {}, b'')) as server:
        with pytest.raises(sh.TransportError) as caught:
            transport(retries=2)[0].request('POST', server.url.replace('http:', 'https:'), 'IAM')
    assert caught.value.msg.startswith('TLS with IAM at https://127.0.0.1:')
    assert 'give ca_path with the CA that signed its certificate' in caught.value.msg


def test_an_answer_larger_than_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(sh, 'MAX_BODY', 10)
    with ScriptServer((200, {}, b'x' * 100)) as server:
        with pytest.raises(sh.TransportError) as caught:
            transport()[0].request('GET', server.url, 'IAM')
    assert 'larger than 10 bytes' in caught.value.msg


def test_the_tls_message_names_the_service_the_cause_and_what_to_do_about_ca_path():
    import ssl
    exc = ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)')
    assert sh.Transport()._tls('IAM', 'https://iam.example.test', exc) == (
        'TLS with IAM at https://iam.example.test failed: [SSL: WRONG_VERSION_NUMBER] wrong version number '
        '(_ssl.c:1006); give ca_path with the CA that signed its certificate.')
    assert sh.Transport(ca_path='/etc/icr/ca.pem')._tls('IAM', 'https://iam.example.test', exc).endswith(
        'failed: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006); check that ca_path '
        '(/etc/icr/ca.pem) holds the CA that signed its certificate.')


@pytest.mark.parametrize('reason, text', [
    (OSError(111, 'Connection refused'), 'Connection refused'),
    (__import__('urllib.error').error.URLError('name does not resolve'), 'name does not resolve'),
    (ValueError('the peer closed the connection.'), 'the peer closed the connection'),
    (ValueError('.hidden X.'), '.hidden X'),
    (ValueError(''), 'ValueError'),
    ('plain text.', 'plain text'),
])
def test_the_text_of_a_reason(reason, text):
    assert sh._text(reason) == text


def test_retry_after_as_an_http_date_is_read_against_the_clock():
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3 <= sh.retry_after(when) <= 5


def test_the_timeout_message_word_for_word():
    assert sh.Transport(timeout=2.5)._timed_out('IAM', 'https://iam.example.test', 2) == (
        'IAM at https://iam.example.test did not answer within 2.5 seconds (2 attempts). Check the endpoint and the '
        'network path, or raise timeout.')


def test_an_answer_of_exactly_the_bound_is_taken(monkeypatch):
    monkeypatch.setattr(sh, 'MAX_BODY', 10)
    with ScriptServer((200, {}, b'x' * 10)) as server:
        assert transport()[0].request('GET', server.url, 'IAM').body == b'x' * 10


class EndlessAnswer(object):
    """An answer whose body never ends; records the size of each read."""

    def __init__(self):
        self.reads, self.code, self.headers = [], 200, {}

    def read(self, amount=None):
        self.reads.append(amount)
        assert len(self.reads) < 100, 'read on past the bound'
        return b'x' * (amount if amount is not None else 64 * sh.MAX_BODY)

    def close(self):
        pass


def test_a_body_is_read_in_bounded_chunks_so_an_endless_one_is_cut_off():
    answer = EndlessAnswer()
    opener = type('Opener', (), {'open': lambda self, req, timeout: answer})()
    with pytest.raises(sh.TransportError) as caught:
        sh.Transport()._once(opener, 'GET', 'http://iam.example.test/', {}, None)
    assert 'larger than %d bytes' % sh.MAX_BODY in caught.value.msg
    assert answer.reads and all(amount == 65536 for amount in answer.reads)


def test_a_body_of_several_chunks_is_joined_as_it_came():
    body = bytes(range(256)) * 800  # 204800 bytes: several reads
    with ScriptServer((200, {}, body)) as server:
        assert transport()[0].request('GET', server.url, 'IAM').body == body


def test_each_request_names_its_host_and_asks_for_json(monkeypatch):
    seen = []

    class Opener(object):
        def open(self, req, timeout):
            seen.append(req)
            raise sh.TransportError('stop here')

    def opener(self, host, proxy):
        seen.append((host, proxy))
        return Opener()

    monkeypatch.setattr(sh.Transport, '_opener', opener)
    with pytest.raises(sh.TransportError):
        sh.Transport().request('PUT', 'http://169.254.169.254/identity/v1/token', 'IMDS', headers={'X-A': 'b'},
                               proxy=False)
    (host, proxy), req = seen
    assert (host, proxy, req.get_method()) == ('169.254.169.254', False, 'PUT')
    assert (req.get_header('Accept'), req.get_header('User-agent'), req.get_header('X-a')) == (
        'application/json', 'docker-credential-icr', 'b')


def test_the_defaults_and_validate_certs_false():
    import ssl
    t = sh.Transport()
    assert (t.timeout, t.retries, t.validate_certs, t.ca_path) == (5.0, 1, True, None)
    assert t.context() is t.context() and t.context().verify_mode == ssl.CERT_REQUIRED
    insecure = sh.Transport(validate_certs=False).context()
    assert insecure.check_hostname is False and insecure.verify_mode == ssl.CERT_NONE


def test_a_missing_ca_file_is_named_with_the_reason(tmp_path):
    missing = str(tmp_path / 'missing.pem')
    with pytest.raises(sh.TransportError) as caught:
        sh.Transport(ca_path=missing).context()
    assert caught.value.msg == ('ca_path: cannot load CA certificates from %s: No such file or directory. Give a '
                                'readable PEM file.' % missing)


class RaisingOpener(object):
    """An opener whose every open() raises the next of the given errors (the last one again when they run out)."""

    def __init__(self, *errors):
        self.errors, self.calls = list(errors), 0

    def open(self, req, timeout):
        self.calls += 1
        raise self.errors[min(self.calls, len(self.errors)) - 1]


def failing(monkeypatch, *errors, **kwargs):
    opener = RaisingOpener(*errors)
    monkeypatch.setattr(sh.Transport, '_opener', lambda self, host, proxy: opener)
    tr, sleeps = transport(**kwargs)
    with pytest.raises(sh.TransportError) as caught:
        tr.request('POST', 'https://iam.example.test/identity/token', 'IBM Cloud IAM')
    return caught.value.msg, sleeps, opener.calls


TIMED_OUT = ('IBM Cloud IAM at https://iam.example.test/identity/token did not answer within 5 seconds (1 attempt). '
             'Check the endpoint and the network path, or raise timeout.')
TLS_FAILED = ('TLS with IBM Cloud IAM at https://iam.example.test/identity/token failed: [SSL: '
              'CERTIFICATE_VERIFY_FAILED] certificate verify failed; give ca_path with the CA that signed its '
              'certificate.')


@pytest.mark.parametrize('error', [
    __import__('socket').timeout('timed out'),
    TimeoutError('timed out'),
    __import__('urllib.error').error.URLError(__import__('socket').timeout('timed out')),
    __import__('urllib.error').error.URLError(TimeoutError()),
])
def test_a_timeout_in_any_wrapping_is_named_and_not_retried(monkeypatch, error):
    assert failing(monkeypatch, error, retries=3) == (TIMED_OUT, [], 1)


@pytest.mark.parametrize('wrapped', [False, True])
def test_a_tls_error_in_any_wrapping_is_named_with_its_cause_and_not_retried(monkeypatch, wrapped):
    import ssl
    import urllib.error
    error = ssl.SSLError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    assert failing(monkeypatch, urllib.error.URLError(error) if wrapped else error, retries=3) == (TLS_FAILED, [], 1)


def test_an_unreachable_service_is_retried_with_backoff_then_named_word_for_word(monkeypatch):
    import urllib.error
    refused = urllib.error.URLError(ConnectionRefusedError(111, 'Connection refused'))
    assert failing(monkeypatch, refused, retries=2) == (
        'IBM Cloud IAM at https://iam.example.test/identity/token could not be reached (3 attempts): Connection '
        'refused. Check the endpoint, the network and the proxy settings.', [0.5, 1.0], 3)


def test_a_bare_connection_error_is_named_by_its_own_text(monkeypatch):
    import http.client
    closed = http.client.RemoteDisconnected('Remote end closed connection without response')
    assert failing(monkeypatch, closed, ConnectionResetError(104, 'Connection reset by peer'), retries=1) == (
        'IBM Cloud IAM at https://iam.example.test/identity/token could not be reached (2 attempts): Connection '
        'reset by peer. Check the endpoint, the network and the proxy settings.', [0.5], 2)
