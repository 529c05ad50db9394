"""Runtime state built from the fixture: API keys (revocable), identities, refresh tokens, lifetimes."""
from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from dataclasses import dataclass

from .fixture import ApiKey, Fixture, Identity


class Directory:
    """API keys and identities; keys can be revoked at runtime and restored by reload()."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self.reload()

    def reload(self) -> None:
        """Restore every key to its fixture state."""
        with self._lock:
            self._keys = {k.name: k for k in self.fixture.apikeys}

    def key_by_name(self, name: str) -> ApiKey | None:
        """The key record of that name, whatever its state."""
        with self._lock:
            return self._keys.get(name)

    def key_by_value(self, value: str) -> ApiKey | None:
        """The key record whose secret is value (deleted keys are not found)."""
        if not value:
            return None
        with self._lock:
            for key in self._keys.values():
                if secrets.compare_digest(key.value, value):
                    return None if key.state == "deleted" else key
        return None

    def identity(self, iam_id: str) -> Identity | None:
        """The identity with that iam_id."""
        return self.fixture.identities.get(iam_id)

    def revoke(self, name: str) -> bool:
        """Delete a key at runtime; False if there is no such key."""
        with self._lock:
            key = self._keys.get(name)
            if key is None:
                return False
            self._keys[name] = dataclasses.replace(key, state="deleted")
            return True

    def key_usable(self, name: str) -> bool:
        """Whether the named key still authenticates."""
        key = self.key_by_name(name)
        return key is not None and key.usable


@dataclass(frozen=True)
class RefreshGrant:
    """What the emulator remembers about a refresh token it issued."""

    iam_id: str
    key_name: str
    client_id: str
    expires_at: float


class RefreshTokens:
    """Opaque refresh tokens issued to the bx client, with their identity, client and expiry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, RefreshGrant] = {}

    def issue(self, grant: RefreshGrant) -> str:
        """Remember a grant and return a new random, non-JWT token for it."""
        token = secrets.token_urlsafe(96)
        now = time.time()
        with self._lock:
            if len(self._grants) > 10000:
                self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = grant
        return token

    def get(self, token: str) -> RefreshGrant | None:
        """The grant of a known, unexpired token."""
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant


@dataclass
class Lifetimes:
    """Token lifetimes in seconds."""

    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 259200
    registry_token_lifetime: int = 300

    def update(self, **values: int) -> None:
        """Change some lifetimes; ValueError on an unknown name or a non-integer."""
        for name, value in values.items():
            if name not in ("access_token_lifetime", "refresh_token_lifetime", "registry_token_lifetime"):
                raise ValueError(f"unknown lifetime {name}")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer number of seconds")
            setattr(self, name, value)
