"""Shared fixtures: one emulator per session (reset before each test)."""
from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

from icr_emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One key/cert directory for the session, so later emulators start without generating keys."""
    return str(tmp_path_factory.mktemp("emulator-state"))


@pytest.fixture(scope="session")
def session_emu(state_dir: str) -> Iterator[Emulator]:
    """The shared emulator."""
    with Emulator(state_dir=state_dir) as emu:
        yield emu


@pytest.fixture()
def emu(session_emu: Emulator) -> Emulator:
    """The shared emulator, reset: zero counters, no faults, fixture keys, default lifetimes."""
    session_emu.reset()
    session_emu.set_lifetimes(access_token_lifetime=3600, refresh_token_lifetime=259200, registry_token_lifetime=300)
    return session_emu
