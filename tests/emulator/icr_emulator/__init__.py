"""Local emulator of IBM Cloud IAM and the IBM Cloud Container Registry token realm (tests and demo only)."""
from __future__ import annotations

from .emulator import Emulator
from .faults import FAULT_ENDPOINTS
from .fixture import DEFAULT_FIXTURE, FixtureError, load_fixture
from .signing import libtrust_kid

__all__ = ["DEFAULT_FIXTURE", "FAULT_ENDPOINTS", "Emulator", "FixtureError", "libtrust_kid", "load_fixture"]
