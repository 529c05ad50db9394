# Copyright (c) icr.auth contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator as a pytest fixture for the functional tests (import its names into a test module)."""

from __future__ import annotations

import pathlib
import sys

import pytest

EMULATOR_DIR = str(pathlib.Path(__file__).resolve().parent.parent / 'emulator')
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

from icr_emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='module')
def module_emu(tmp_path_factory):
    with Emulator(state_dir=str(tmp_path_factory.mktemp('emu-state'))) as emu:
        yield emu


@pytest.fixture()
def emu(module_emu):
    module_emu.reset()
    module_emu.set_lifetimes(access_token_lifetime=3600, refresh_token_lifetime=259200, registry_token_lifetime=300)
    return module_emu


def iam_calls(emu):
    return emu.counters()['iam_token']


def emu_host(emu):
    return emu.url.split('://', 1)[1]
