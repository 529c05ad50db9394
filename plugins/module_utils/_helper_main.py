# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docker-credential-icr: the docker-credential-helpers protocol for IBM Cloud Container Registry (internal use only).

- ``get``: the registry host on stdin; for any ICR host (public, private, former names) and any host named in
  ``registries``, answers ``{"ServerURL", "Username": "iambearer", "Secret": <IAM access token>}`` from the
  configured identity, through the token cache. Another host: ``credentials not found in native keychain``, exit 1.
- ``store``: keeps the user's own ``docker login`` (see _helper_logins); ``get`` serves it for that host until
  ``erase`` (``docker logout``) removes it. A stored iambearer login whose token expired is no longer served, and
  storing back the token ``get`` answered (``docker login`` without arguments does) keeps nothing. ``erase`` also
  drops the identity's cached token, so a logout starts afresh.
- ``list``: the configured hosts -> "iambearer", and the stored logins -> their usernames.
- ``version``; anything else is a protocol error.

An error is one line naming the registry, the identity source and the cause, on stderr and (as the protocol has
it) on stdout, exit 1. Nothing but ``get``'s answer ever carries a secret.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import IO, Any

from ansible_collections.icr.auth.plugins.module_utils import _helper_config as helper_config
from ansible_collections.icr.auth.plugins.module_utils._credential import jwt_claims, token_expiry
from ansible_collections.icr.auth.plugins.module_utils._errors import IcrAuthError
from ansible_collections.icr.auth.plugins.module_utils._helper_logins import LoginStore
from ansible_collections.icr.auth.plugins.module_utils._identity_sources import source
from ansible_collections.icr.auth.plugins.module_utils._identity_key_file import expand_user
from ansible_collections.icr.auth.plugins.module_utils._regions import is_icr_host, normalize_registry
from ansible_collections.icr.auth.plugins.module_utils._stdlib_http import MAX_RETRY_AFTER, Transport
from ansible_collections.icr.auth.plugins.module_utils._token_cache import (
    MIN_VALIDITY,
    TokenCache,
    default_cache_dir,
    get_token,
)

NAME = 'docker-credential-icr'
VERSION = '1.0.0'
USERNAME = 'iambearer'
NOT_FOUND = 'credentials not found in native keychain'
MAX_INPUT = 64 * 1024


class ProtocolError(IcrAuthError):
    """The caller sent something the protocol does not allow."""


def registry_host(server_url: str) -> str | None:
    """The host a server URL names (https://us.icr.io/v2/ -> us.icr.io; a former name -> its icr.io name), or None."""
    try:
        return normalize_registry(server_url.strip(), 'server URL')[0]
    except IcrAuthError:
        return None


def serves(host: str | None, config: dict | None) -> bool:
    """True for the hosts this helper answers for: every ICR host, and those configured."""
    return host is not None and (is_icr_host(host) or (config is not None and host in config['registries']))


def expired_bearer(username: str, secret: str, now: float | None = None) -> bool:
    """True for a stored iambearer login whose token has (nearly) expired: the identity's token is served instead."""
    if username != USERNAME:
        return False
    exp = token_expiry(jwt_claims(secret))
    return exp is not None and exp - (time.time() if now is None else now) <= MIN_VALIDITY


def lock_timeout(config: dict) -> float:
    """Longest a caller waits for another one's exchange: two metadata steps, with their retries, and some."""
    attempts = config['retries'] + 1
    return 2 * attempts * (config['timeout'] + MAX_RETRY_AFTER) + 5


def cache_dir(config: dict | None) -> str:
    given = config.get('cache_dir') if config else None
    return expand_user(given) if given else default_cache_dir()


def transport(config: dict) -> Transport:
    ca_path = expand_user(config['ca_path']) if config.get('ca_path') else None
    return Transport(timeout=config['timeout'], retries=config['retries'], validate_certs=config['validate_certs'],
                     ca_path=ca_path)


class Helper(object):
    """One run of the helper: an action, stdin, stdout and stderr."""

    def __init__(self, stdin: IO[str], stdout: IO[str], stderr: IO[str], environ: Any = None) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.config_path = helper_config.config_path(os.environ if environ is None else environ)
        self._config: dict | None = None

    def config(self) -> dict:
        if self._config is None:
            self._config = helper_config.load(self.config_path)
        return self._config

    def config_or_none(self) -> dict | None:
        try:
            return self.config()
        except IcrAuthError:
            return None

    def read_input(self) -> str:
        data = self.stdin.read(MAX_INPUT + 1)
        if len(data) > MAX_INPUT:
            raise ProtocolError(f'the input is larger than {MAX_INPUT} bytes')
        return data

    def get(self) -> int:
        asked = self.read_input().strip()
        host = registry_host(asked)
        config = self.config_or_none()
        if not serves(host, config):
            self.stdout.write(NOT_FOUND + '\n')
            return 1
        where = f'{NAME}: {host}'
        logins = LoginStore(cache_dir(config))
        try:
            stored = logins.get(host)
        except IcrAuthError as exc:
            return self.fail(f'{where}: {exc.msg}')
        finally:
            logins.close()
        if stored is not None and not expired_bearer(stored[0], stored[1]):
            return self.answer(asked, stored[0], stored[1])
        try:
            config = self.config()
        except IcrAuthError as exc:
            return self.fail(f'{where}: configuration: {exc.msg}')
        where = f"{where}: {config['identity']}"
        cache = None
        try:
            identity = source(config, transport(config))
            cache = TokenCache(cache_dir(config), identity.cache_key())
            served = get_token(identity.fetch, cache, config['refresh_share'], lock_timeout(config))
        except IcrAuthError as exc:
            return self.fail(f'{where}: {exc.msg}')
        finally:
            if cache is not None:
                cache.close()
        if served.warning:
            self.stderr.write(f'{where}: warning: {served.warning}\n')
        return self.answer(asked, USERNAME, served.token.token)

    def answer(self, server_url: str, username: str, secret: str) -> int:
        self.stdout.write(json.dumps({'ServerURL': server_url, 'Username': username, 'Secret': secret}) + '\n')
        return 0

    def store(self) -> int:
        try:
            entry = json.loads(self.read_input())
        except ValueError:
            return self.fail(f'{NAME}: store: the input is not JSON; give {{"ServerURL", "Username", "Secret"}}')
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ('ServerURL', 'Username',
                                                                                          'Secret')):
            return self.fail(f'{NAME}: store: give a JSON object with the strings ServerURL, Username and Secret')
        host = registry_host(entry['ServerURL'])
        if host is None:
            return self.fail(f"{NAME}: store: {entry['ServerURL']!r} is not a registry host")
        config = self.config_or_none()
        if entry['Username'] == USERNAME and self.cached_token(config) == entry['Secret']:
            # docker login without arguments stores back what get answered: nothing of the user's to keep.
            return 0
        logins = LoginStore(cache_dir(config))
        try:
            logins.store(host, entry['Username'], entry['Secret'])
        except IcrAuthError as exc:
            return self.fail(f'{NAME}: {host}: store: {exc.msg}')
        finally:
            logins.close()
        return 0

    def cached_token(self, config: dict | None) -> str | None:
        """The identity's cached token, or None."""
        if config is None:
            return None
        cache = TokenCache(cache_dir(config), source(config, transport(config)).cache_key())
        try:
            cached = cache.read()
        except IcrAuthError:
            return None
        finally:
            cache.close()
        return cached.token if cached else None

    def erase(self) -> int:
        host = registry_host(self.read_input())
        if host is None:
            return self.fail(f'{NAME}: erase: the input is not a registry host')
        config = self.config_or_none()
        logins = LoginStore(cache_dir(config))
        try:
            logins.erase(host)
            if config is not None and serves(host, config):
                cache = TokenCache(cache_dir(config), source(config, transport(config)).cache_key())
                try:
                    cache.remove()
                finally:
                    cache.close()
        except IcrAuthError as exc:
            return self.fail(f'{NAME}: {host}: erase: {exc.msg}')
        finally:
            logins.close()
        return 0

    def list(self) -> int:
        config = self.config_or_none()
        hosts = dict((host, USERNAME) for host in (config['registries'] if config else []))
        logins = LoginStore(cache_dir(config))
        try:
            hosts.update(logins.hosts())
        except IcrAuthError as exc:
            return self.fail(f'{NAME}: list: {exc.msg}')
        finally:
            logins.close()
        self.stdout.write(json.dumps(hosts, sort_keys=True) + '\n')
        return 0

    def fail(self, line: str) -> int:
        line = ' '.join(line.split())
        self.stderr.write(line + '\n')
        self.stdout.write(line + '\n')
        return 1


def main(argv: list, stdin: IO[str], stdout: IO[str], stderr: IO[str], environ: Any = None) -> int:
    """Run the action argv[1]; the exit code."""
    helper = Helper(stdin, stdout, stderr, environ)
    action = argv[1] if len(argv) == 2 else None
    if action in ('get', 'store', 'erase', 'list'):
        try:
            return getattr(helper, action)()
        except ProtocolError as exc:
            return helper.fail(f'{NAME}: {action}: {exc.msg}')
    if action in ('version', '--version', '-v'):
        stdout.write(f'{NAME} {VERSION}\n')
        return 0
    usage = f'Usage: {NAME} <store|get|erase|list|version>'
    stderr.write(usage + '\n')
    stdout.write(f'{NAME}: unknown action; {usage}\n')
    return 1


def run() -> int:
    """The entry point of the zipapp."""
    try:
        return main(sys.argv, sys.stdin, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # pylint: disable=broad-except
        # Never a traceback (its text could hold what a library put in an exception): one line, the kind of failure.
        detail = getattr(exc, 'strerror', None) or ''
        line = f"{NAME}: unexpected {type(exc).__name__}{': ' + detail if detail else ''}; please report it"
        sys.stderr.write(line + '\n')
        sys.stdout.write(line + '\n')
        return 1
