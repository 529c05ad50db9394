# -*- coding: utf-8 -*-
# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credential helpers: the docker-credential-helpers protocol (internal use only).

A helper ``docker-credential-NAME`` takes one verb as its only argument (store, get, erase, list) and
its payload on standard input; a secret is never put on a command line.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping

from ansible_collections.icr.auth.plugins.module_utils._errors import CredentialHelperError, InputError
from ansible_collections.icr.auth.plugins.module_utils._privilege import user_groups

# What another user's helper gets as PATH; the module's own user keeps its PATH.
SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Variables a helper run as the module's own user may need to find that user's store.
_OWN_ENV = frozenset(('PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'GNUPGHOME',
                      'PASSWORD_STORE_DIR', 'PASSWORD_STORE_GPG_OPTS', 'GPG_TTY', 'DBUS_SESSION_BUS_ADDRESS',
                      'XDG_RUNTIME_DIR', 'DISPLAY', 'WAYLAND_DISPLAY'))
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
HELPER_TIMEOUT = 60
NOT_FOUND = 'credentials not found in native keychain'


def check_name(name: object, option: str = 'credential_store') -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError(f'{option}: {name!r} is not a credential helper name (the part after docker-credential-, such '
                         'as pass, secretservice, osxkeychain).')
    return name


class CredentialHelper(object):
    """One docker-credential-NAME program, run with the identity and HOME of the config's owner."""

    def __init__(self, name: str, account: pwd.struct_passwd | None = None):
        self.name = check_name(name)
        self.program = 'docker-credential-' + name
        self.account = account  # passwd entry of the config's owner, whose identity the helper runs with; or None

    def _path(self, env: Mapping[str, str]) -> str:
        found = shutil.which(self.program, path=env.get('PATH', os.defpath))
        if not found:
            raise CredentialHelperError(f'The credential helper {self.program} is not installed on this host (not found on '
                                        'PATH). Install it, or remove the credsStore or credHelpers entry that names it '
                                        'from the config file (credential_store: file would write the file, but Docker '
                                        'ignores the file while credsStore names a store).', helper=self.name)
        return found

    def _env(self) -> dict[str, str]:
        """A minimal environment built from the identity the helper runs as.

        Nothing else of the module's environment reaches it (no proxy, no API key, no task environment:
        a helper run as another user exposes its environment to that user through /proc). When the helper
        runs as the module's own user, the variables that locate that user's own stores are kept.
        """
        account = self.account
        if account is None or account.pw_uid == os.geteuid():
            account = pwd_entry(os.geteuid()) or account
            env = dict((k, v) for k, v in os.environ.items() if k in _OWN_ENV or k.startswith('LC_'))
        else:
            env = {}
        env.setdefault('PATH', SAFE_PATH)
        if account is not None:
            env.update(HOME=account.pw_dir, USER=account.pw_name, LOGNAME=account.pw_name)
            runtime = f'/run/user/{account.pw_uid}'
            if 'XDG_RUNTIME_DIR' not in env and os.path.isdir(runtime):
                env['XDG_RUNTIME_DIR'] = runtime
                if os.path.exists(runtime + '/bus'):
                    env.setdefault('DBUS_SESSION_BUS_ADDRESS', f'unix:path={runtime}/bus')
        if self.account is not None and self.account.pw_uid != os.geteuid():
            env['PATH'] = SAFE_PATH
        return env

    def _preexec(self) -> Callable[[], None] | None:
        account = self.account
        if account is None or os.geteuid() != 0 or account.pw_uid == 0:
            return None

        groups = user_groups(account)

        def drop() -> None:
            os.setgroups(groups)
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
        return drop

    def run(self, verb: str, payload: str) -> tuple[int, str, str]:
        env = self._env()
        program = self._path(os.environ)
        if env['PATH'] == SAFE_PATH:
            env['PATH'] = os.pathsep.join((os.path.dirname(program), SAFE_PATH))
        try:
            # Not AnsibleModule.run_command: it can neither drop to the config owner's identity before the helper
            # starts (preexec_fn) nor stop a helper that hangs (timeout). ansible-core 2.21's pylint flags the call.
            proc = subprocess.run([program, verb], input=payload.encode('utf-8'), stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                                  stderr=subprocess.PIPE, env=env, timeout=HELPER_TIMEOUT,
                                  preexec_fn=self._preexec(), cwd='/', check=False)
        except subprocess.TimeoutExpired:
            raise CredentialHelperError(f'The credential helper {self.program} did not finish "{verb}" within '
                                        f'{HELPER_TIMEOUT} seconds (is it waiting for a passphrase or a desktop '
                                        'session?).', helper=self.name)
        except OSError as exc:
            raise CredentialHelperError(f'The credential helper {self.program} could not be started: {exc.strerror}.',
                                        helper=self.name)
        out = proc.stdout.decode('utf-8', 'replace').strip()
        err = proc.stderr.decode('utf-8', 'replace').strip()
        return proc.returncode, out, err

    def get(self, host: str) -> tuple[str, str] | None:
        """(username, secret) stored for host, or None when the helper has nothing (an empty answer included)."""
        rc, out, err = self.run('get', host)
        if rc != 0:
            text = out or err
            if NOT_FOUND in text.lower() or 'not found' in text.lower():
                return None
            raise CredentialHelperError(f'The credential helper {self.program} failed to look up {host} (exit {rc}): '
                                        f'{_clip(text)}', helper=self.name)
        try:
            answer = json.loads(out)
        except ValueError:
            raise CredentialHelperError(f'The credential helper {self.program} answered "get" for {host} with something '
                                        'that is not JSON.', helper=self.name)
        if not isinstance(answer, dict) or not answer.get('Secret'):
            return None
        return answer.get('Username') or '', answer['Secret']

    def store(self, host: str, username: str, secret: str) -> None:
        payload = json.dumps({'ServerURL': host, 'Username': username, 'Secret': secret})
        rc, out, err = self.run('store', payload)
        if rc != 0:
            raise CredentialHelperError(f'The credential helper {self.program} failed to store the credential for {host} '
                                        f'(exit {rc}): {_clip(out or err)}', helper=self.name)
        stored = self.get(host)
        if stored is None or stored != (username, secret):
            raise CredentialHelperError(f'The credential helper {self.program} said it stored the credential for {host}, '
                                        'but "get" does not give it back (is its store initialised, for example "pass '
                                        'init"?).', helper=self.name)

    def erase(self, host: str) -> bool:
        """Remove host's credential; True if the helper had one."""
        if self.get(host) is None:
            return False
        rc, out, err = self.run('erase', host)
        if rc != 0:
            raise CredentialHelperError(f'The credential helper {self.program} failed to erase the credential for {host} '
                                        f'(exit {rc}): {_clip(out or err)}', helper=self.name)
        return True


def pwd_entry(uid: int) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        return None


def _clip(text: str) -> str:
    text = ' '.join(text.split())
    return (text[:300] + '…') if len(text) > 300 else (text or 'no message')
