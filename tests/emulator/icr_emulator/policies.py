"""Container Registry access decisions from IAM policies, and registry scope parsing."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .fixture import Fixture, Policy

SERVICE_NAME = "container-registry"
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "Reader": frozenset({"pull"}),
    "Writer": frozenset({"pull", "push", "delete"}),
    "Manager": frozenset({"pull", "push", "delete"}),
}
ALL_ACTIONS = frozenset({"pull", "push", "delete"})


@dataclass(frozen=True)
class Scope:
    """One requested registry scope, e.g. repository:ns/img:pull,push."""

    type: str
    name: str
    actions: tuple[str, ...]


# Distribution's reference grammar for repository names (path components of lower-case alphanumerics and
# separators), and the actions a repository scope may ask for.
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_ACTIONS = frozenset({"pull", "push", "delete", "*"})


class ScopeError(ValueError):
    """A scope parameter that is not type:name:actions."""


def parse_scopes(values: list[str]) -> list[Scope]:
    """Parse scope query values (repeated parameters and/or space-separated); ScopeError on a malformed one."""
    scopes = []
    for value in values:
        for item in value.split():
            kind, sep, rest = item.partition(":")
            name, sep2, actions = rest.rpartition(":")
            acts = tuple(a for a in actions.split(",") if a)
            if not sep or not sep2 or not name or not kind or not acts:
                raise ScopeError(f"scope {item[:120]!r} is not of the form type:name:actions")
            if kind == "repository" and (not _REPOSITORY.match(name) or not set(acts) <= _ACTIONS):
                raise ScopeError(f"scope {item[:120]!r}: invalid repository name or action")
            scopes.append(Scope(kind, name, acts))
    return scopes


def namespace_of(repository: str) -> str:
    """The ICR namespace of a repository name: its first path segment."""
    return repository.split("/", 1)[0]


def _policy_applies(policy: Policy, iam_id: str, groups: frozenset[str], region: str) -> bool:
    if iam_id not in policy.iam_ids and not groups & policy.access_group_ids:
        return False
    if policy.service_name not in ("", SERVICE_NAME):
        return False
    if policy.geography == "global" and region != "global":
        return False
    return policy.region in ("", region)


def _resource_matches(policy: Policy, fixture: Fixture, namespace: str) -> bool:
    # Every namespace belongs to exactly one account; one the fixture does not declare belongs to none, so no
    # policy reaches it.
    owner = fixture.namespaces.get(namespace)
    if owner is None or owner != policy.account_id:
        return False
    if policy.resource_type not in ("", "namespace"):
        return False
    return policy.resource in ("", namespace)


def allowed_actions(fixture: Fixture, iam_id: str, repository: str, region: str) -> frozenset[str]:
    """Registry actions (pull/push/delete) that iam_id's policies allow on a repository in region."""
    namespace = namespace_of(repository)
    groups = fixture.groups_of(iam_id)
    allowed: set[str] = set()
    for policy in fixture.policies:
        if _policy_applies(policy, iam_id, groups, region) and _resource_matches(policy, fixture, namespace):
            for role in policy.roles:
                allowed |= ROLE_ACTIONS.get(role, frozenset())
    return frozenset(allowed)


def grant(fixture: Fixture, iam_id: str, scopes: list[Scope], region: str) -> list[dict[str, object]]:
    """The `access` claim: for each repository scope, the asked actions that are allowed; nothing else."""
    access: list[dict[str, object]] = []
    for scope in scopes:
        if scope.type != "repository":
            continue
        allowed = allowed_actions(fixture, iam_id, scope.name, region)
        actions = []
        for action in scope.actions:
            ok = allowed >= ALL_ACTIONS if action == "*" else action in allowed
            if ok and action not in actions:
                actions.append(action)
        if actions:
            access.append({"type": "repository", "name": scope.name, "actions": actions})
    return access
