"""Runtime state built from the fixture: API keys (revocable), identities, refresh tokens, lifetimes."""
from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from dataclasses import dataclass

from .fixture import ApiKey, Fixture, Identity, Policy


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

    # --- runtime changes of the IAM Identity and Policy Management APIs (identity_api.py, policy_api.py) ---
    def put_key(self, key: ApiKey) -> None:
        """Add or replace a key under its `name` (created keys use their id as that handle)."""
        with self._lock:
            self._keys[key.name] = key

    def all_keys(self) -> list[ApiKey]:
        """Every key record, deleted ones included, in insertion order."""
        with self._lock:
            return list(self._keys.values())

    def put_identity(self, identity: Identity) -> None:
        """Add or replace an identity (a service ID created at runtime)."""
        with self._lock:
            identities = dict(self.fixture.identities)
            identities[identity.iam_id] = identity
            self.fixture = dataclasses.replace(self.fixture, identities=identities)

    def remove_identity(self, iam_id: str) -> None:
        """Forget an identity (a deleted service ID): nothing authenticates as it any more."""
        with self._lock:
            identities = {k: v for k, v in self.fixture.identities.items() if k != iam_id}
            self.fixture = dataclasses.replace(self.fixture, identities=identities)

    def set_policies(self, policies: tuple[Policy, ...]) -> None:
        """Replace the policies the realm and /v2/ enforce (they take effect at once)."""
        with self._lock:
            self.fixture = dataclasses.replace(self.fixture, policies=tuple(policies))

    def restore_fixture(self, fixture: Fixture) -> None:
        """Go back to the fixture's identities and policies, then to its keys."""
        with self._lock:
            self.fixture = fixture
        self.reload()


@dataclass(frozen=True)
class RefreshGrant:
    """What the emulator remembers about a refresh token it issued."""

    iam_id: str
    key_name: str
    client_id: str
    expires_at: float
    session: str = ""


class RefreshTokens:
    """Opaque refresh tokens issued to the bx client, with their identity, client, expiry and IAM session.

    Every token of one login (the first one and those its refreshes return) belongs to one session. A session
    ends at its expiry, when an administrator ends it (end_sessions), or after idle_timeout seconds without use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, RefreshGrant] = {}
        self._last_used: dict[str, float] = {}
        self._ended: set[str] = set()

    def issue(self, grant: RefreshGrant) -> str:
        """Remember a grant and return a new random, non-JWT token for it (a new session unless it names one)."""
        token = secrets.token_urlsafe(96)
        now = time.time()
        if not grant.session:
            grant = dataclasses.replace(grant, session=secrets.token_hex(8))
        with self._lock:
            if len(self._grants) > 10000:
                self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = grant
            self._last_used[grant.session] = now
        return token

    def get(self, token: str, idle_timeout: int | None = None, touch: bool = True) -> RefreshGrant | None:
        """The grant of a known token whose session is alive; using it counts as session activity."""
        now = time.time()
        with self._lock:
            grant = self._grants.get(token)
            if grant is None or grant.expires_at <= now or grant.session in self._ended:
                return None
            if idle_timeout is not None and now - self._last_used.get(grant.session, 0) > idle_timeout:
                return None
            if touch:
                self._last_used[grant.session] = now
        return grant

    def end_sessions(self, iam_id: str | None = None) -> int:
        """End the sessions of an identity (every session if None), as an administrator can; returns how many."""
        with self._lock:
            sessions = {g.session for g in self._grants.values() if iam_id is None or g.iam_id == iam_id}
            fresh = sessions - self._ended
            self._ended |= sessions
        return len(fresh)


# IBM's account settings (A-TOK iam-token-exp.md, PS-GO): system_access_token_expiration_in_seconds 900-3600,
# system_refresh_token_expiration_in_seconds 900-259200.
IBM_LIMITS = {"access_token_lifetime": (900, 3600), "refresh_token_lifetime": (900, 259200)}


@dataclass
class Lifetimes:
    """Token lifetimes in seconds."""

    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 259200
    registry_token_lifetime: int = 300

    def update(self, outside_ibm_limits: bool = False, **values: int) -> None:
        """Change some lifetimes; ValueError on an unknown name, a non-integer, or a value IBM would not allow.

        IAM lifetimes are held to IBM's account-setting ranges unless outside_ibm_limits is True (a test that
        needs a short-lived or an already expired token says so explicitly).
        """
        checked = {}
        for name, value in values.items():
            if name not in ("access_token_lifetime", "refresh_token_lifetime", "registry_token_lifetime"):
                raise ValueError(f"unknown lifetime {name}")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer number of seconds")
            low, high = IBM_LIMITS.get(name, (None, None))
            if low is not None and not outside_ibm_limits and not low <= value <= high:
                raise ValueError(f"{name} must be {low}-{high} seconds, as IBM's account settings allow "
                                 "(pass outside_ibm_limits to go beyond them)")
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)
