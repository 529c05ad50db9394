"""Runtime state of keyless identity: the instance the metadata service acts as, rotatable cr tokens, and the
short-lived instance identity tokens the metadata service issued."""
from __future__ import annotations

import secrets
import threading
import time

from .fixture import Fixture
from .keyless_fixture import ComputeResource, Instance, TrustedProfile

MAX_IDENTITY_TOKENS = 10000


class KeylessState:
    """Thread-safe; reset() restores the fixture's first instance and its cr token values."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self._lock = threading.Lock()
        self._instance = ""
        self._cr_tokens: dict[str, str] = {}
        self._identity_tokens: dict[str, tuple[str, float]] = {}
        self.reset()

    def reset(self) -> None:
        """The first fixture instance, the fixture's cr token values, no identity tokens."""
        with self._lock:
            self._instance = self.fixture.instances[0].name if self.fixture.instances else ""
            self._cr_tokens = {r.name: r.cr_token for r in self.fixture.compute_resources.values()}
            self._identity_tokens = {}

    # --- instances ---------------------------------------------------------------------------------
    def instance_by_name(self, name: str) -> Instance | None:
        """The fixture instance of that name."""
        return next((i for i in self.fixture.instances if i.name == name), None)

    def set_instance(self, name: str) -> Instance:
        """Make the metadata service act as that instance; KeyError if the fixture has none of that name."""
        instance = self.instance_by_name(name)
        if instance is None:
            raise KeyError(f"no instance named {name!r} in the fixture")
        with self._lock:
            self._instance = name
        return instance

    def current_instance(self) -> Instance | None:
        """The instance the metadata service acts as (None if the fixture has no instances)."""
        with self._lock:
            name = self._instance
        return self.instance_by_name(name) if name else None

    def issue_identity_token(self, instance: Instance, lifetime: int) -> tuple[str, float]:
        """A new opaque instance identity token for instance and its expiry (epoch seconds)."""
        token = secrets.token_urlsafe(48)
        expires = time.time() + lifetime
        with self._lock:
            if len(self._identity_tokens) >= MAX_IDENTITY_TOKENS:
                now = time.time()
                self._identity_tokens = {t: v for t, v in self._identity_tokens.items() if v[1] > now}
            self._identity_tokens[token] = (instance.name, expires)
        return token, expires

    def instance_of_token(self, token: str) -> Instance | None:
        """The instance an unexpired identity token was issued to, else None."""
        if not token:
            return None
        with self._lock:
            entry = self._identity_tokens.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return self.instance_by_name(entry[0])

    # --- compute resources -------------------------------------------------------------------------
    def cr_token(self, name: str) -> str:
        """The current cr token value of a compute resource; KeyError if unknown."""
        with self._lock:
            if name not in self._cr_tokens:
                raise KeyError(f"no compute resource named {name!r} in the fixture")
            return self._cr_tokens[name]

    def rotate_cr_token(self, name: str) -> str:
        """Give a compute resource a new cr token value (the old one stops working); the new value."""
        with self._lock:
            if name not in self._cr_tokens:
                raise KeyError(f"no compute resource named {name!r} in the fixture")
            value = f"crtoken.{secrets.token_urlsafe(48)}"
            self._cr_tokens[name] = value
            return value

    def resource_by_cr_token(self, value: str) -> ComputeResource | None:
        """The compute resource whose current cr token is value."""
        if not value:
            return None
        with self._lock:
            items = list(self._cr_tokens.items())
        for name, current in items:
            if secrets.compare_digest(current.encode("utf-8"), value.encode("utf-8", "replace")):
                return self.fixture.compute_resources[name]
        return None

    # --- profiles ----------------------------------------------------------------------------------
    def profile(self, profile_id: str) -> TrustedProfile | None:
        """The trusted profile with that id."""
        return self.fixture.profiles.get(profile_id)

    def profile_by_crn(self, crn: str) -> TrustedProfile | None:
        """The trusted profile with that CRN."""
        return next((p for p in self.fixture.profiles.values() if p.crn == crn), None) if crn else None

    def profile_by_name(self, name: str, account_id: str) -> TrustedProfile | None:
        """The trusted profile of that name in that account."""
        return next((p for p in self.fixture.profiles.values() if p.name == name and p.account_id == account_id), None)
