# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way the functional tests start the IAM + ICR emulator: in this process, on loopback.

`started_emulator(base, ca=None, **options)` starts it with its state in base/state, over plain HTTP or, given a
trustme CA, over HTTPS with a certificate that CA issued for 127.0.0.1 and localhost (the CA's PEM is then
`started.ca_pem`); options go to icr_emulator.Emulator (fixture=..., region=...). The fixtures below use it; a module
that needs another fixture or a second CA calls it from its own fixture. Import the fixtures a module uses:

    from emu_fixture import emu, emu_host, iam_calls, module_emu  # noqa: F401

- module_emu, emu: one plain-HTTP emulator per test module; emu resets counters, faults and keys before each test.
- tls_ca, module_tls_emu, tls_emu: one HTTPS emulator per test module whose certificate comes from tls_ca, a CA that
  nobody trusts by default; tls_emu resets it before each test.

tests/functional/conftest.py puts tests/emulator on sys.path (the one place that sets up import paths).
"""

from __future__ import annotations

import contextlib
import os
import pathlib

import pytest
import trustme

from icr_emulator import Emulator


@contextlib.contextmanager
def started_emulator(base, ca=None, **options):
    """The emulator with its state in base/state; over HTTPS with a certificate of ca (a trustme.CA) when given."""
    base = pathlib.Path(base)
    ca_pem = None
    if ca is not None:
        cert = ca.issue_cert('127.0.0.1', 'localhost')
        cert.cert_chain_pems[0].write_to_path(str(base / 'emu.crt'))
        cert.private_key_pem.write_to_path(str(base / 'emu.key'))
        os.chmod(str(base / 'emu.key'), 0o600)
        ca_pem = str(base / 'ca.pem')
        ca.cert_pem.write_to_path(ca_pem)
        options.update(tls_cert=str(base / 'emu.crt'), tls_key=str(base / 'emu.key'))
    with Emulator(state_dir=str(base / 'state'), **options) as started:
        started.ca_pem = ca_pem
        yield started


@pytest.fixture(scope='module')
def module_emu(tmp_path_factory):
    with started_emulator(tmp_path_factory.mktemp('emu')) as started:
        yield started


@pytest.fixture()
def emu(module_emu):
    module_emu.reset()
    module_emu.set_lifetimes(access_token_lifetime=3600, refresh_token_lifetime=259200, registry_token_lifetime=300)
    return module_emu


@pytest.fixture(scope='module')
def tls_ca():
    return trustme.CA()


@pytest.fixture(scope='module')
def module_tls_emu(tls_ca, tmp_path_factory):
    """The emulator over HTTPS, its certificate from a CA nobody trusts by default (its PEM: .ca_pem)."""
    with started_emulator(tmp_path_factory.mktemp('emu-tls'), tls_ca) as started:
        yield started


@pytest.fixture()
def tls_emu(module_tls_emu):
    module_tls_emu.reset()
    return module_tls_emu


def iam_calls(emu):
    return emu.counters()['iam_token']


def emu_host(emu):
    return emu.url.split('://', 1)[1]
