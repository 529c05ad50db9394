"""Switches for behaviour that IBM does not document, or where its docs and the field disagree.

Each switch picks one plausible answer of IBM's; tests set them per test (Emulator.set_variants or
POST /_emulator/variants) and reset() restores the emulator's defaults.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Mapping

# Registry token format: a JWT whose `access` holds only what the policies allow ("jwt"), a JWT that echoes
# the requested scope whatever the policies say ("jwt-echo"), or an opaque random string ("opaque").
TOKEN_STYLES = ("jwt", "jwt-echo", "opaque")
# Where a valid credential without the IAM access asked for is refused: a token with less access, then 401
# insufficient_scope at /v2/ ("scope"); 401 at the realm ("realm-401"); 403 DENIED at the realm ("realm-403").
DENIALS = ("scope", "realm-401", "realm-403")
BAD_CREDENTIAL_STATUSES = (400, 401)


@dataclass
class Variants:
    """The emulator's switches (see README: fidelity table)."""

    token_style: str = "jwt"
    denial: str = "scope"
    bad_credential_status: int = 400
    # IAM error bodies for the apikey grant carry an errorDetails that quotes the submitted key.
    echo_error_details: bool = False
    # Seconds a refresh token may go unused before IAM drops it (the IAM session's inactivity limit); None: never.
    refresh_idle_timeout: int | None = None
    # The realm URL the registry's challenge names (another origin, plain http ...); None: this emulator's own.
    challenge_realm: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def check_variant(name: str, value: Any) -> Any:
    """Validate one switch; return the value to store, raise ValueError on a bad one."""
    if name == "token_style":
        if value not in TOKEN_STYLES:
            raise ValueError(f"token_style must be one of {', '.join(TOKEN_STYLES)}")
    elif name == "denial":
        if value not in DENIALS:
            raise ValueError(f"denial must be one of {', '.join(DENIALS)}")
    elif name == "bad_credential_status":
        if value not in BAD_CREDENTIAL_STATUSES or isinstance(value, bool):
            raise ValueError("bad_credential_status must be 400 or 401")
    elif name == "echo_error_details":
        if not isinstance(value, bool):
            raise ValueError("echo_error_details must be true or false")
    elif name == "refresh_idle_timeout":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError("refresh_idle_timeout must be a number of seconds (>= 0) or null")
    elif name == "challenge_realm":
        if value is not None and (not isinstance(value, str) or not value.startswith(("http://", "https://"))):
            raise ValueError("challenge_realm must be an http(s) URL or null")
    else:
        raise ValueError(f"unknown variant {name}")
    return value


class VariantSwitch:
    """The current switches, thread-safe, with the defaults reset() goes back to."""

    def __init__(self, defaults: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._defaults = Variants()
        for name, value in dict(defaults or {}).items():
            setattr(self._defaults, name, check_variant(name, value))
        self._current = dataclasses.replace(self._defaults)

    @property
    def current(self) -> Variants:
        """A snapshot of the switches (a copy: read it once per request)."""
        with self._lock:
            return dataclasses.replace(self._current)

    def update(self, **values: Any) -> Variants:
        """Change some switches; ValueError (and nothing changed) if any is invalid."""
        checked = {name: check_variant(name, value) for name, value in values.items()}
        with self._lock:
            for name, value in checked.items():
                setattr(self._current, name, value)
            return dataclasses.replace(self._current)

    def reset(self) -> None:
        """Back to the defaults the emulator was started with."""
        with self._lock:
            self._current = dataclasses.replace(self._defaults)
