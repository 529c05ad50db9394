"""Load and validate the emulator's fixture: accounts, identities, API keys, access groups, policies."""
from __future__ import annotations

import copy
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

DEFAULT_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "default.json")

KEY_STATES = ("active", "locked", "disabled", "deleted")
IDENTITY_TYPES = ("user", "serviceid", "profile")
_ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY_VALUE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
_ROLE_PREFIXES = (
    "crn:v1:bluemix:public:container-registry::::serviceRole:",
    "crn:v1:bluemix:public:iam::::serviceRole:",
)
_PLATFORM_ROLE_PREFIX = "crn:v1:bluemix:public:iam::::role:"

FixtureSource = Union[str, os.PathLike, Mapping[str, Any], None]


class FixtureError(ValueError):
    """The fixture is not valid."""


@dataclass(frozen=True)
class Account:
    """An IBM Cloud account."""

    alias: str
    id: str
    name: str


@dataclass(frozen=True)
class Identity:
    """A user, service ID or trusted profile."""

    iam_id: str
    kind: str
    account_id: str
    name: str
    email: str = ""
    given_name: str = ""
    family_name: str = ""
    ims_user_id: int | None = None

    @property
    def identifier(self) -> str:
        """The iam_id without its realm prefix (IBMid-X -> X, iam-ServiceId-U -> ServiceId-U)."""
        if self.kind == "user":
            return self.iam_id.split("-", 1)[1] if "-" in self.iam_id else self.iam_id
        return self.iam_id[4:] if self.iam_id.startswith("iam-") else self.iam_id

    @property
    def realm(self) -> str:
        """The IAM realm id of this identity."""
        return "IBMid" if self.kind == "user" else "iam"

    @property
    def sub(self) -> str:
        """The JWT subject: e-mail for users, identifier for service IDs and profiles."""
        return self.email if self.kind == "user" and self.email else self.identifier


@dataclass(frozen=True)
class ApiKey:
    """An API key record; `value` is the secret."""

    name: str
    id: str
    value: str
    iam_id: str
    account_id: str
    state: str = "active"
    description: str = ""
    created_at: str = "2026-01-01T00:00+0000"
    expires_at: float | None = None   # epoch seconds; an expired key no longer authenticates

    @property
    def usable(self) -> bool:
        """Whether IAM accepts this key for authentication (locked keys are only write-protected)."""
        if self.expires_at is not None and time.time() >= self.expires_at:
            return False
        return self.state in ("active", "locked")


@dataclass(frozen=True)
class Policy:
    """An access policy, normalised from the simple or the IAM v1 form."""

    id: str
    iam_ids: frozenset[str]
    access_group_ids: frozenset[str]
    roles: tuple[str, ...]
    account_id: str
    service_name: str = ""
    region: str = ""
    resource_type: str = ""
    resource: str = ""
    geography: str = ""


# Resource attributes a container-registry policy may carry (reference 5; `geography` as IAM writes the
# global registry's policies). Anything else is refused: a policy the emulator cannot read must not grant.
RESOURCE_ATTRIBUTES = frozenset({"accountId", "account", "serviceName", "region", "geography", "resourceType",
                                 "resource", "serviceInstance", "resourceGroupId"})


@dataclass(frozen=True)
class Fixture:
    """A loaded, validated fixture."""

    accounts: dict[str, Account]
    namespaces: dict[str, str]
    identities: dict[str, Identity]
    apikeys: tuple[ApiKey, ...]
    access_groups: dict[str, frozenset[str]]
    policies: tuple[Policy, ...]
    source: str = field(default="<dict>", compare=False)
    # Keyless identity (keyless_fixture.py): trusted profiles by id, VPC instances in order, compute resources by name.
    profiles: dict[str, Any] = field(default_factory=dict)
    instances: tuple[Any, ...] = ()
    compute_resources: dict[str, Any] = field(default_factory=dict)

    def groups_of(self, iam_id: str) -> frozenset[str]:
        """Ids of the access groups that have iam_id as a member."""
        return frozenset(gid for gid, members in self.access_groups.items() if iam_id in members)


def load_fixture(source: FixtureSource = None) -> Fixture:
    """Load a fixture from a path, a dict, or (None) the default fixture file."""
    if source is None:
        source = DEFAULT_FIXTURE
    if isinstance(source, Mapping):
        return _build(copy.deepcopy(dict(source)), "<dict>")
    path = os.fspath(source)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise FixtureError(f"cannot read fixture {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"fixture {path}: top level must be an object")
    return _build(data, path)


def normalize_role(role: Any) -> str:
    """Short service role name (Reader/Writer/Manager/...) from a role id, a dict or a plain name."""
    if isinstance(role, Mapping):
        role = role.get("role_id", "")
    role = str(role)
    for prefix in _ROLE_PREFIXES:
        if role.startswith(prefix):
            return role[len(prefix):]
    if role.startswith(_PLATFORM_ROLE_PREFIX):
        return "platform:" + role[len(_PLATFORM_ROLE_PREFIX):]
    return role


def _build(data: dict[str, Any], source: str) -> Fixture:
    accounts = _accounts(data.get("accounts", {}))
    resolve = _account_resolver(accounts)
    identities = _identities(data.get("identities", []), resolve)
    apikeys = _apikeys(data.get("apikeys", []), identities, resolve)
    groups = _access_groups(data.get("access_groups", []))
    namespaces = {str(ns): resolve(acct, f"namespace {ns}") for ns, acct in dict(data.get("namespaces", {})).items()}
    policies = tuple(p for index, raw in enumerate(data.get("policies", [])) for p in _policies(raw, index, resolve))
    from .keyless_fixture import parse_compute_resources, parse_instances, parse_profiles  # pylint: disable=import-outside-toplevel
    profiles = parse_profiles(data.get("identities", []), identities, resolve, FixtureError)
    instances = parse_instances(data.get("instances", []), profiles, resolve, FixtureError)
    resources = parse_compute_resources(data.get("compute_resources", []), profiles, {k.value for k in apikeys}, FixtureError)
    return Fixture(accounts, namespaces, identities, apikeys, groups, policies, source, profiles, instances, resources)


def _accounts(raw: Any) -> dict[str, Account]:
    if not isinstance(raw, Mapping):
        raise FixtureError("accounts must be an object of alias -> {id, name}")
    accounts = {}
    for alias, entry in raw.items():
        account_id = str(entry.get("id", "")) if isinstance(entry, Mapping) else str(entry)
        if not _ACCOUNT_ID.match(account_id):
            raise FixtureError(f"account {alias}: id must be 32 lowercase hex characters")
        name = str(entry.get("name", alias)) if isinstance(entry, Mapping) else str(alias)
        accounts[str(alias)] = Account(str(alias), account_id, name)
    return accounts


def _account_resolver(accounts: dict[str, Account]):
    ids = {a.id for a in accounts.values()}

    def resolve(ref: Any, where: str) -> str:
        ref = str(ref or "")
        if ref in accounts:
            return accounts[ref].id
        if ref in ids:
            return ref
        raise FixtureError(f"{where}: unknown account {ref!r}")

    return resolve


def _identities(raw: Any, resolve) -> dict[str, Identity]:
    identities: dict[str, Identity] = {}
    for entry in raw:
        iam_id = str(entry.get("iam_id", ""))
        kind = str(entry.get("type", "serviceid"))
        if not iam_id or kind not in IDENTITY_TYPES:
            raise FixtureError(f"identity {entry!r}: needs iam_id and a type in {IDENTITY_TYPES}")
        if iam_id in identities:
            raise FixtureError(f"identity {iam_id}: duplicate")
        name = str(entry.get("name") or entry.get("email") or iam_id)
        ims = entry.get("ims_user_id")
        identities[iam_id] = Identity(
            iam_id=iam_id, kind=kind, account_id=resolve(entry.get("account"), f"identity {iam_id}"), name=name,
            email=str(entry.get("email", "")), given_name=str(entry.get("given_name", "")),
            family_name=str(entry.get("family_name", "")), ims_user_id=int(ims) if ims is not None else None,
        )
    return identities


def _apikeys(raw: Any, identities: dict[str, Identity], resolve) -> tuple[ApiKey, ...]:
    keys: list[ApiKey] = []
    names: set[str] = set()
    values: set[str] = set()
    for entry in raw:
        name = str(entry.get("name", ""))
        value = str(entry.get("value", ""))
        iam_id = str(entry.get("iam_id", ""))
        state = str(entry.get("state", "active"))
        if not name or name in names:
            raise FixtureError(f"apikey {name!r}: missing or duplicate name")
        if not _KEY_VALUE.match(value) or value in values:
            raise FixtureError(f"apikey {name}: value must be 20-128 characters of [A-Za-z0-9_-] and unique")
        if iam_id not in identities:
            raise FixtureError(f"apikey {name}: unknown iam_id {iam_id!r}")
        if state not in KEY_STATES:
            raise FixtureError(f"apikey {name}: state must be one of {KEY_STATES}")
        account_id = resolve(entry["account"], f"apikey {name}") if entry.get("account") else identities[iam_id].account_id
        names.add(name)
        values.add(value)
        keys.append(ApiKey(name=name, id=str(entry.get("id", f"ApiKey-{name}")), value=value, iam_id=iam_id, account_id=account_id,
                           state=state, description=str(entry.get("description", "")),
                           created_at=str(entry.get("created_at", "2026-01-01T00:00+0000"))))
    return tuple(keys)


def _access_groups(raw: Any) -> dict[str, frozenset[str]]:
    groups = {}
    for entry in raw:
        gid = str(entry.get("id", ""))
        if not gid:
            raise FixtureError(f"access group {entry!r}: needs an id")
        groups[gid] = frozenset(str(m) for m in entry.get("members", []))
    return groups


def _policies(raw: Mapping[str, Any], index: int, resolve) -> list[Policy]:
    pid = str(raw.get("id", f"policy-{index}"))
    iam_ids, group_ids = _policy_subjects(raw, pid)
    roles = tuple(normalize_role(r) for r in raw.get("roles", []))
    if not roles:
        raise FixtureError(f"policy {pid}: needs at least one role")
    policies = []
    for attrs in _policy_resources(raw, pid):
        unknown = sorted(set(attrs) - RESOURCE_ATTRIBUTES)
        if unknown:
            raise FixtureError(f"policy {pid}: unknown resource attribute(s) {', '.join(unknown)}; "
                               f"known: {', '.join(sorted(RESOURCE_ATTRIBUTES))}")
        for name in ("serviceInstance", "resourceGroupId"):
            if attrs.get(name):
                raise FixtureError(f"policy {pid}: {name} is not emulated; leave it out")
        geography = str(attrs.get("geography", ""))
        if geography not in ("", "global"):
            raise FixtureError(f"policy {pid}: geography must be 'global' (or absent), not {geography!r}")
        account = attrs.get("accountId") or attrs.get("account")
        policies.append(Policy(
            id=pid, iam_ids=iam_ids, access_group_ids=group_ids, roles=roles,
            account_id=resolve(account, f"policy {pid}"), service_name=str(attrs.get("serviceName", "")),
            region=str(attrs.get("region", "")), resource_type=str(attrs.get("resourceType", "")),
            resource=str(attrs.get("resource", "")), geography=geography,
        ))
    return policies


def _policy_subjects(raw: Mapping[str, Any], pid: str) -> tuple[frozenset[str], frozenset[str]]:
    subjects: list[Mapping[str, Any]] = []
    if "subject" in raw:
        subjects.append(dict(raw["subject"]))
    for subject in raw.get("subjects", []):
        subjects.append({a["name"]: a["value"] for a in subject.get("attributes", [])})
    iam_ids = frozenset(str(s["iam_id"]) for s in subjects if s.get("iam_id"))
    groups = frozenset(str(s["access_group_id"]) for s in subjects if s.get("access_group_id"))
    if not iam_ids and not groups:
        raise FixtureError(f"policy {pid}: needs a subject with iam_id or access_group_id")
    return iam_ids, groups


def _policy_resources(raw: Mapping[str, Any], pid: str) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    if "resource" in raw:
        resources.append(dict(raw["resource"]))
    for resource in raw.get("resources", []):
        resources.append({a["name"]: a["value"] for a in resource.get("attributes", [])})
    if not resources:
        raise FixtureError(f"policy {pid}: needs a resource")
    return resources
