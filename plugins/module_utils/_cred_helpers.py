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


def check_name(name, option='credential_store'):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError('%s: %r is not a credential helper name (the part after docker-credential-, such as pass, '
                         'secretservice, osxkeychain).' % (option, name))
    return name


class CredentialHelper(object):
    """One docker-credential-NAME program, run with the identity and HOME of the config's owner."""

    def __init__(self, name, pw=None):
        self.name = check_name(name)
        self.program = 'docker-credential-' + name
        self.pw = pw

    def _path(self, env):
        found = shutil.which(self.program, path=env.get('PATH', os.defpath))
        if not found:
            raise CredentialHelperError('The credential helper %s is not installed on this host (not found on PATH). '
                                        'Install it, or remove the credsStore or credHelpers entry that names it from '
                                        'the config file (credential_store: file would write the file, but Docker '
                                        'ignores the file while credsStore names a store).' % self.program,
                                        helper=self.name)
        return found

    def _env(self):
        """A minimal environment built from the identity the helper runs as.

        Nothing else of the module's environment reaches it (no proxy, no API key, no task environment:
        a helper run as another user exposes its environment to that user through /proc). When the helper
        runs as the module's own user, the variables that locate that user's own stores are kept.
        """
        pw = self.pw
        if pw is None or pw.pw_uid == os.geteuid():
            pw = pwd_entry(os.geteuid()) or pw
            env = dict((k, v) for k, v in os.environ.items() if k in _OWN_ENV or k.startswith('LC_'))
        else:
            env = {}
        env.setdefault('PATH', SAFE_PATH)
        if pw is not None:
            env.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
            runtime = '/run/user/%d' % pw.pw_uid
            if 'XDG_RUNTIME_DIR' not in env and os.path.isdir(runtime):
                env['XDG_RUNTIME_DIR'] = runtime
                if os.path.exists(runtime + '/bus'):
                    env.setdefault('DBUS_SESSION_BUS_ADDRESS', 'unix:path=%s/bus' % runtime)
        if self.pw is not None and self.pw.pw_uid != os.geteuid():
            env['PATH'] = SAFE_PATH
        return env

    def _preexec(self):
        pw = self.pw
        if pw is None or os.geteuid() != 0 or pw.pw_uid == 0:
            return None

        groups = user_groups(pw)

        def drop():
            os.setgroups(groups)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        return drop

    def run(self, verb, payload):
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
            raise CredentialHelperError('The credential helper %s did not finish "%s" within %d seconds (is it waiting '
                                        'for a passphrase or a desktop session?).' % (self.program, verb, HELPER_TIMEOUT),
                                        helper=self.name)
        except OSError as exc:
            raise CredentialHelperError('The credential helper %s could not be started: %s.' % (self.program, exc.strerror),
                                        helper=self.name)
        out = proc.stdout.decode('utf-8', 'replace').strip()
        err = proc.stderr.decode('utf-8', 'replace').strip()
        return proc.returncode, out, err

    def get(self, host):
        """(username, secret) stored for host, or None when the helper has nothing (an empty answer included)."""
        rc, out, err = self.run('get', host)
        if rc != 0:
            text = out or err
            if NOT_FOUND in text.lower() or 'not found' in text.lower():
                return None
            raise CredentialHelperError('The credential helper %s failed to look up %s (exit %d): %s'
                                        % (self.program, host, rc, _clip(text)), helper=self.name)
        try:
            answer = json.loads(out)
        except ValueError:
            raise CredentialHelperError('The credential helper %s answered "get" for %s with something that is not JSON.'
                                        % (self.program, host), helper=self.name)
        if not isinstance(answer, dict) or not answer.get('Secret'):
            return None
        return answer.get('Username') or '', answer['Secret']

    def store(self, host, username, secret):
        payload = json.dumps({'ServerURL': host, 'Username': username, 'Secret': secret})
        rc, out, err = self.run('store', payload)
        if rc != 0:
            raise CredentialHelperError('The credential helper %s failed to store the credential for %s (exit %d): %s'
                                        % (self.program, host, rc, _clip(out or err)), helper=self.name)
        stored = self.get(host)
        if stored is None or stored != (username, secret):
            raise CredentialHelperError('The credential helper %s said it stored the credential for %s, but "get" does not '
                                        'give it back (is its store initialised, for example "pass init"?).'
                                        % (self.program, host), helper=self.name)

    def erase(self, host):
        """Remove host's credential; True if the helper had one."""
        if self.get(host) is None:
            return False
        rc, out, err = self.run('erase', host)
        if rc != 0:
            raise CredentialHelperError('The credential helper %s failed to erase the credential for %s (exit %d): %s'
                                        % (self.program, host, rc, _clip(out or err)), helper=self.name)
        return True


def pwd_entry(uid):
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        return None


def _clip(text):
    text = ' '.join(text.split())
    return (text[:300] + '…') if len(text) > 300 else (text or 'no message')
