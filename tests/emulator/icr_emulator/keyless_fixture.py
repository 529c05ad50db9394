"""Fixture parts for keyless identity: trusted profiles, VPC instances and compute resources (validated strictly)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PROFILE_ID = re.compile(rf"^Profile-{_UUID}$")
INSTANCE_ID = re.compile(rf"^[0-9a-z]{{4}}_{_UUID}$")
CR_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9._-]{20,4096}$")


@dataclass(frozen=True)
class TrustedProfile:
    """A trusted profile: its id, CRN, iam_id, name, account and the iam_ids allowed to assume it."""

    id: str
    iam_id: str
    crn: str
    name: str
    account_id: str
    trusts: frozenset[str]


@dataclass(frozen=True)
class Instance:
    """A VPC virtual server instance: the profiles linked to it and its default one (or none)."""

    name: str
    id: str
    crn: str
    account_id: str
    default_profile: str | None
    profiles: tuple[str, ...]


@dataclass(frozen=True)
class ComputeResource:
    """A compute resource (a pod's service account, a Code Engine app): its cr token and the profiles it may get."""

    name: str
    cr_token: str
    profiles: tuple[str, ...]


def profile_crn(account_id: str, profile_id: str) -> str:
    """The CRN IBM gives a trusted profile."""
    return f"crn:v1:bluemix:public:iam-identity::a/{account_id}::profile:{profile_id}"


def parse_profiles(raw: Any, identities: Mapping[str, Any], resolve: Callable[[Any, str], str],
                   error: type[Exception]) -> dict[str, TrustedProfile]:
    """Trusted profiles from the identities of "type": "profile", keyed by profile id."""
    profiles: dict[str, TrustedProfile] = {}
    names: set[tuple[str, str]] = set()
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.get("type") != "profile":
            continue
        iam_id = str(entry.get("iam_id", ""))
        pid = str(entry.get("id", ""))
        where = f"profile {iam_id}"
        if not PROFILE_ID.match(pid):
            raise error(f"{where}: id must be 'Profile-<uuid>' (lowercase uuid), not {pid[:80]!r}")
        if iam_id != "iam-" + pid:
            raise error(f"{where}: iam_id must be 'iam-{pid}'")
        account_id = resolve(entry.get("account"), where)
        crn = str(entry.get("crn", ""))
        if crn != profile_crn(account_id, pid):
            raise error(f"{where}: crn must be {profile_crn(account_id, pid)!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise error(f"{where}: needs a name (a non-empty string)")
        if (account_id, name) in names:
            raise error(f"{where}: another profile of account {account_id} is already named {name!r}")
        names.add((account_id, name))
        trusts = entry.get("trusts", [])
        if not isinstance(trusts, list):
            raise error(f"{where}: trusts must be a list of iam_ids")
        for trusted in trusts:
            known = identities.get(str(trusted))
            if known is None or known.kind == "profile":
                raise error(f"{where}: trusts {trusted!r}, which is not a user or service ID of the fixture")
        profiles[pid] = TrustedProfile(pid, iam_id, crn, name, account_id, frozenset(str(t) for t in trusts))
    return profiles


def _profile_refs(refs: Any, profiles: Mapping[str, TrustedProfile], where: str, error: type[Exception]) -> tuple[str, ...]:
    if not isinstance(refs, list):
        raise error(f"{where}: profiles must be a list of profile ids or {{id, name}} objects")
    ids: list[str] = []
    for ref in refs:
        pid = str(ref.get("id", "")) if isinstance(ref, Mapping) else str(ref)
        profile = profiles.get(pid)
        if profile is None:
            raise error(f"{where}: profile {pid[:80]!r} is not a trusted profile of the fixture")
        if isinstance(ref, Mapping) and ref.get("name", profile.name) != profile.name:
            raise error(f"{where}: profile {pid} is named {profile.name!r}, not {ref.get('name')!r}")
        if pid in ids:
            raise error(f"{where}: profile {pid} listed twice")
        ids.append(pid)
    return tuple(ids)


def parse_instances(raw: Any, profiles: Mapping[str, TrustedProfile], resolve: Callable[[Any, str], str],
                    error: type[Exception]) -> tuple[Instance, ...]:
    """VPC instances, in fixture order (the first one is the metadata service's default)."""
    if not isinstance(raw, list):
        raise error("instances must be a list of {name, id, account, default_profile, profiles}")
    instances: list[Instance] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise error(f"instance {entry!r}: must be an object")
        name = str(entry.get("name", ""))
        where = f"instance {name!r}"
        if not name or any(i.name == name for i in instances):
            raise error(f"{where}: missing or duplicate name")
        iid = str(entry.get("id", ""))
        if not INSTANCE_ID.match(iid) or any(i.id == iid for i in instances):
            raise error(f"{where}: id must be a unique VPC instance id like '0717_<uuid>', not {iid[:80]!r}")
        account_id = resolve(entry.get("account"), where)
        linked = _profile_refs(entry.get("profiles", []), profiles, where, error)
        default = entry.get("default_profile")
        if default is not None:
            default = str(default)
            if default not in linked:
                raise error(f"{where}: default_profile {default[:80]!r} must be one of its profiles")
        for pid in linked:
            if profiles[pid].account_id != account_id:
                raise error(f"{where}: profile {pid} belongs to another account than the instance")
        region = str(entry.get("region", "us-south"))
        crn = f"crn:v1:bluemix:public:is:{region}-1:a/{account_id}::instance:{iid}"
        instances.append(Instance(name, iid, crn, account_id, default, linked))
    return tuple(instances)


def parse_compute_resources(raw: Any, profiles: Mapping[str, TrustedProfile], taken_values: set[str],
                            error: type[Exception]) -> dict[str, ComputeResource]:
    """Compute resources by name; their cr token values must be unique (and unlike any API key value)."""
    if not isinstance(raw, list):
        raise error("compute_resources must be a list of {name, cr_token, profiles}")
    resources: dict[str, ComputeResource] = {}
    values = set(taken_values)
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise error(f"compute resource {entry!r}: must be an object")
        name = str(entry.get("name", ""))
        where = f"compute resource {name!r}"
        if not name or name in resources:
            raise error(f"{where}: missing or duplicate name")
        value = entry.get("cr_token")
        if not isinstance(value, str) or not CR_TOKEN_VALUE.match(value) or value in values:
            raise error(f"{where}: cr_token must be a unique string of 20-4096 characters of [A-Za-z0-9._-]")
        values.add(value)
        linked = _profile_refs(entry.get("profiles", []), profiles, where, error)
        if not linked:
            raise error(f"{where}: needs at least one profile")
        resources[name] = ComputeResource(name, value, linked)
    return resources
