"""IAM Policy Management API v1: /v1/policies (reference identity-and-helpers 3.2).

Policies are kept as IAM's v1 records; every change recompiles them into the Directory's policies, which the
token realm and /v2/ enforce, so a new policy takes effect at once and a deleted one stops at once.
Eventual consistency (README): with `set_consistency_delay(reads=N)`, a policy created or replaced since answers
404 to the next N `GET /v1/policies/{id}` while already being enforced.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable
from urllib.parse import urlencode

from .directory import Directory
from .fixture import RESOURCE_ATTRIBUTES, Fixture, Policy, normalize_role
from .httpio import Request, Response, json_response
from .management import (POLICY_SERVICE, ApiError, Caller, authenticate, check_if_match, etag, json_body, page_offset,
                         page_size, page_token, policy_error, require)

SERVICE_ROLE_PREFIXES = ("crn:v1:bluemix:public:iam::::serviceRole:", "crn:v1:bluemix:public:container-registry::::serviceRole:")
PLATFORM_ROLE_PREFIX = "crn:v1:bluemix:public:iam::::role:"
PLATFORM_ROLES = ("Viewer", "Operator", "Editor", "Administrator")
SERVICE_ROLES = {"container-registry": ("Reader", "Writer", "Manager")}
SERVICES = ("container-registry", "iam-identity", "iam-access-management")
PLATFORM_SERVICES = ("iam-identity", "iam-access-management")
REGIONS = ("us-south", "us-east", "ca-tor", "br-sao", "eu-gb", "eu-de", "eu-es", "eu-fr2", "jp-tok", "jp-osa",
           "au-syd", "global")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _role_id(short: str) -> str:
    if short.startswith("platform:"):
        return PLATFORM_ROLE_PREFIX + short[len("platform:"):]
    return "crn:v1:bluemix:public:iam::::serviceRole:" + short


class PolicyApi:
    """Handlers of /v1/policies and /v1/policies/{id}."""

    def __init__(self, directory: Directory, fixture: Fixture, verify: Callable[[str], dict[str, Any] | None],
                 base_url: str) -> None:
        self.directory = directory
        self.fixture = fixture
        self.verify = verify
        self.base_url = base_url
        self._lock = threading.RLock()
        self.records: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, int] = {}
        self.delay_reads = 0
        self._hidden: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the fixture's policies; no consistency delay."""
        with self._lock:
            self.records = {}
            self.versions = {}
            self._hidden = {}
            self.delay_reads = 0
            for policy in self.fixture.policies:
                self._seed(policy)

    def _seed(self, policy: Policy) -> None:
        resource = [{"name": "accountId", "value": policy.account_id}]
        for name, value in (("serviceName", policy.service_name), ("region", policy.region),
                            ("geography", policy.geography), ("resourceType", policy.resource_type),
                            ("resource", policy.resource)):
            if value:
                resource.append({"name": name, "value": value})
        existing = self.records.get(policy.id)
        if existing is not None:   # one fixture policy with several resources
            existing["resources"].append({"attributes": resource})
            return
        subjects = [{"attributes": [{"name": "iam_id", "value": i}]} for i in sorted(policy.iam_ids)]
        subjects += [{"attributes": [{"name": "access_group_id", "value": g}]} for g in sorted(policy.access_group_ids)]
        self.records[policy.id] = self._record(policy.id, "access", subjects, [_role_id(r) for r in policy.roles],
                                               [{"attributes": resource}], "", "", 0.0)
        self.versions[policy.id] = 1

    def _record(self, pid: str, kind: str, subjects: list[Any], role_ids: list[str], resources: list[Any],
                description: str, by: str, when: float) -> dict[str, Any]:
        stamp = _iso(when or 1767225600.0)
        record: dict[str, Any] = {
            "id": pid, "type": kind, "subjects": subjects,
            "roles": [{"role_id": r, "display_name": r.rsplit(":", 1)[-1]} for r in role_ids],
            "resources": resources, "href": f"{self.base_url}/v1/policies/{pid}", "created_at": stamp,
            "created_by_id": by or "IBMid-emulator", "last_modified_at": stamp,
            "last_modified_by_id": by or "IBMid-emulator", "state": "active",
        }
        if description:
            record["description"] = description
        return record

    # --- Python API ----------------------------------------------------------------------------------
    def list_records(self) -> list[dict[str, Any]]:
        """Every policy record (copies)."""
        with self._lock:
            return [dict(r, etag=etag(pid, self.versions[pid])) for pid, r in self.records.items()]

    def set_consistency_delay(self, reads: int) -> None:
        """Policies created or replaced from now on answer 404 to the next `reads` GETs by id."""
        if isinstance(reads, bool) or not isinstance(reads, int) or not 0 <= reads <= 1000:
            raise ValueError("reads must be an integer from 0 to 1000")
        with self._lock:
            self.delay_reads = reads

    def remove_subject(self, iam_id: str) -> None:
        """Drop the policies of a deleted service ID."""
        with self._lock:
            for pid, record in list(self.records.items()):
                values = [a["value"] for s in record["subjects"] for a in s["attributes"] if a["name"] == "iam_id"]
                if values == [iam_id]:
                    del self.records[pid]
            self._sync()

    # --- HTTP ----------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """/v1/policies[/{id}]."""
        try:
            caller = authenticate(req, self.verify, self.directory)
            with self._lock:
                return self._handle(req, caller)
        except ApiError as err:
            return policy_error(err)

    def _handle(self, req: Request, caller: Caller) -> Response:
        rest = req.path[len("/v1/policies"):].strip("/")
        if not rest:
            if req.method == "GET":
                return self._list(req, caller)
            if req.method == "POST":
                return self._create(req, caller)
            raise ApiError(405, "method_not_allowed", "Method not allowed.")
        if "/" in rest:
            raise ApiError(404, "not_found", "Not found.")
        record = self.records.get(rest)
        if record is None:
            raise ApiError(404, "policy_not_found", f"Policy {rest[:80]} was not found.")
        account = self._account(record)
        require(self.directory, caller, account, POLICY_SERVICE, req.method != "GET")
        if req.method == "GET":
            if self._hidden.get(rest, 0) > 0:
                self._hidden[rest] -= 1
                raise ApiError(404, "policy_not_found", f"Policy {rest[:80]} was not found.")
            return self._answer(200, rest)
        if req.method == "PUT":
            check_if_match(req, etag(rest, self.versions[rest]))
            kind, subjects, role_ids, resources, description = self._validate(json_body(req))
            new_account = self._account({"resources": resources})
            require(self.directory, caller, new_account, POLICY_SERVICE, True)
            self._conflict(kind, subjects, role_ids, resources, ignore=rest)
            created = record["created_at"], record["created_by_id"]
            record = self._record(rest, kind, subjects, role_ids, resources, description, caller.iam_id, time.time())
            record["created_at"], record["created_by_id"] = created
            self.records[rest] = record
            self.versions[rest] += 1
            self._hide(rest)
            self._sync()
            return self._answer(200, rest)
        if req.method == "DELETE":
            del self.records[rest]
            self._hidden.pop(rest, None)
            self._sync()
            return Response(204)
        raise ApiError(405, "method_not_allowed", "Method not allowed.")

    def _answer(self, status: int, pid: str) -> Response:
        tag = etag(pid, self.versions[pid])
        return json_response(status, self.records[pid], [("ETag", tag)])

    def _list(self, req: Request, caller: Caller) -> Response:
        account_id = req.arg("account_id")
        if not account_id:
            raise ApiError(400, "missing_account_id", "The query parameter 'account_id' is required.")
        require(self.directory, caller, account_id, POLICY_SERVICE, False)
        kind, service_type = req.arg("type"), req.arg("service_type")
        if kind not in ("", "access", "authorization"):
            raise ApiError(400, "invalid_parameter", "'type' must be 'access' or 'authorization'.")
        if service_type not in ("", "service", "platform_service"):
            raise ApiError(400, "invalid_parameter", "'service_type' must be 'service' or 'platform_service'.")
        items = []
        for pid, record in self.records.items():
            if self._account(record) != account_id or (kind and record["type"] != kind):
                continue
            subject = {a["name"]: a["value"] for s in record["subjects"] for a in s["attributes"]}
            if req.arg("iam_id") and subject.get("iam_id") != req.arg("iam_id"):
                continue
            if req.arg("access_group_id") and subject.get("access_group_id") != req.arg("access_group_id"):
                continue
            service = self._attr(record, "serviceName")
            if service_type and ("platform_service" if service in PLATFORM_SERVICES else "service") != service_type:
                continue
            items.append(pid)
        limit = page_size(req.arg("limit"), "limit", 50)
        offset = page_offset(req.arg("start"), "start")
        params = {k: req.arg(k) for k in ("account_id", "iam_id", "access_group_id", "type", "service_type") if req.arg(k)}
        base = f"{self.base_url}/v1/policies?{urlencode(dict(params, limit=str(limit)))}"
        body: dict[str, Any] = {"limit": limit, "first": {"href": base}}
        if offset > 0:
            start = page_token(max(0, offset - limit))
            body["previous"] = {"href": f"{base}&start={start}", "start": start}
        if offset + limit < len(items):
            start = page_token(offset + limit)
            body["next"] = {"href": f"{base}&start={start}", "start": start}
        body["policies"] = [self.records[pid] for pid in items[offset:offset + limit]]
        return json_response(200, body)

    def _create(self, req: Request, caller: Caller) -> Response:
        kind, subjects, role_ids, resources, description = self._validate(json_body(req))
        require(self.directory, caller, self._account({"resources": resources}), POLICY_SERVICE, True)
        self._conflict(kind, subjects, role_ids, resources)
        pid = str(uuid.uuid4())
        self.records[pid] = self._record(pid, kind, subjects, role_ids, resources, description, caller.iam_id,
                                         time.time())
        self.versions[pid] = 1
        self._hide(pid)
        self._sync()
        resp = self._answer(201, pid)
        resp.note = "created"
        return resp

    def _hide(self, pid: str) -> None:
        if self.delay_reads:
            self._hidden[pid] = self.delay_reads

    # --- validation ----------------------------------------------------------------------------------
    def _validate(self, data: dict[str, Any]) -> tuple[str, list[Any], list[str], list[Any], str]:
        kind = data.get("type")
        if kind != "access":
            raise ApiError(400, "invalid_body", "'type' must be 'access' (authorization policies are not emulated).")
        subject = self._single(data, "subjects")
        resource = self._single(data, "resources")
        subj_attrs = self._attributes(subject, "subjects")
        res_attrs = self._attributes(resource, "resources")
        self._check_subject(subj_attrs)
        service = self._check_resource(res_attrs)
        roles = data.get("roles")
        if not isinstance(roles, list) or not roles:
            raise ApiError(400, "invalid_body", "'roles' must be a non-empty list of {\"role_id\": ...}.")
        role_ids = []
        for role in roles:
            role_id = role.get("role_id") if isinstance(role, dict) else None
            if not isinstance(role_id, str) or not self._role_ok(role_id, service):
                raise ApiError(400, "invalid_role", f"Role {str(role_id)[:160]!r} is not a role of service {service}: "
                               f"use {PLATFORM_ROLE_PREFIX}<{'|'.join(PLATFORM_ROLES)}>"
                               + (f" or a serviceRole {'/'.join(SERVICE_ROLES[service])}" if service in SERVICE_ROLES else ""))
            if role_id not in role_ids:
                role_ids.append(role_id)
        description = data.get("description") or ""
        if not isinstance(description, str):
            raise ApiError(400, "invalid_body", "'description' must be a string.")
        subjects = [{"attributes": [{"name": a["name"], "value": a["value"]} for a in subj_attrs]}]
        resources = [{"attributes": [dict(a, operator=a.get("operator") or "stringEquals") for a in res_attrs]}]
        return kind, subjects, role_ids, resources, description

    @staticmethod
    def _single(data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name)
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
            raise ApiError(400, "invalid_body", f"'{name}' must be a list of exactly one object with 'attributes'.")
        return value[0]

    @staticmethod
    def _attributes(entry: dict[str, Any], where: str) -> list[dict[str, Any]]:
        attrs = entry.get("attributes")
        if not isinstance(attrs, list) or not attrs:
            raise ApiError(400, "invalid_body", f"'{where}[0].attributes' must be a non-empty list.")
        seen = set()
        for attr in attrs:
            if (not isinstance(attr, dict) or not isinstance(attr.get("name"), str)
                    or not isinstance(attr.get("value"), str) or not attr["value"]):
                raise ApiError(400, "invalid_body", f"each of '{where}[0].attributes' needs a string 'name' and a "
                               "non-empty string 'value'.")
            if attr["name"] in seen:
                raise ApiError(400, "invalid_body", f"attribute {attr['name'][:80]!r} appears twice in '{where}'.")
            seen.add(attr["name"])
        return attrs

    def _check_subject(self, attrs: list[dict[str, Any]]) -> None:
        if len(attrs) != 1 or attrs[0]["name"] not in ("iam_id", "access_group_id"):
            raise ApiError(400, "invalid_subject", "A subject has exactly one attribute: 'iam_id' or 'access_group_id'.")
        name, value = attrs[0]["name"], attrs[0]["value"]
        if name == "access_group_id":
            if value not in self.directory.fixture.access_groups:
                raise ApiError(400, "invalid_subject", f"Access group {value[:120]} does not exist.")
            return
        identity = self.directory.identity(value)
        if identity is None:
            raise ApiError(400, "invalid_subject", f"Subject iam_id {value[:120]} does not exist.")
        if identity.kind == "serviceid" and self._locked_service_id(value):
            raise ApiError(400, "subject_locked", f"The subject {value[:120]} is a locked service ID: unlock it "
                           "before assigning access to it.")

    locked_service_id: Callable[[str], bool] | None = None

    def _locked_service_id(self, iam_id: str) -> bool:
        return bool(self.locked_service_id and self.locked_service_id(iam_id))

    def _check_resource(self, attrs: list[dict[str, Any]]) -> str:
        values = {a["name"]: a["value"] for a in attrs}
        unknown = sorted(set(values) - RESOURCE_ATTRIBUTES - {"serviceType"})
        if unknown:
            raise ApiError(400, "invalid_resource", f"Unknown resource attribute(s) {', '.join(unknown)[:200]}; known: "
                           f"{', '.join(sorted(RESOURCE_ATTRIBUTES))}.")
        for attr in attrs:
            if attr.get("operator") not in (None, "stringEquals"):
                raise ApiError(400, "invalid_resource", f"Operator {str(attr.get('operator'))[:40]!r} of "
                               f"{attr['name']} is not emulated: use 'stringEquals'.")
        account = values.get("accountId", "")
        if account not in {a.id for a in self.directory.fixture.accounts.values()}:
            raise ApiError(400, "invalid_resource", "Resource attribute 'accountId' must name an existing account.")
        service = values.get("serviceName", "")
        if service not in SERVICES:
            raise ApiError(400, "invalid_resource", f"Resource attribute 'serviceName' must be one of "
                           f"{', '.join(SERVICES)}.")
        if "region" in values and values["region"] not in REGIONS:
            raise ApiError(400, "invalid_resource", f"Region {values['region'][:40]!r} is not an IBM Cloud location.")
        if values.get("geography", "global") != "global":
            raise ApiError(400, "invalid_resource", "Resource attribute 'geography' must be 'global'.")
        if values.get("resourceType", "namespace") != "namespace" or (service != "container-registry" and (
                "resourceType" in values or "resource" in values)):
            raise ApiError(400, "invalid_resource", "Only container-registry resources of resourceType 'namespace' "
                           "are emulated.")
        for name in ("serviceInstance", "resourceGroupId", "account"):
            if name in values:
                raise ApiError(400, "invalid_resource", f"Resource attribute {name} is not emulated; leave it out.")
        return service

    @staticmethod
    def _role_ok(role_id: str, service: str) -> bool:
        if role_id.startswith(PLATFORM_ROLE_PREFIX):
            return role_id[len(PLATFORM_ROLE_PREFIX):] in PLATFORM_ROLES
        for prefix in SERVICE_ROLE_PREFIXES:
            if role_id.startswith(prefix):
                return role_id[len(prefix):] in SERVICE_ROLES.get(service, ())
        return False

    def _conflict(self, kind: str, subjects: list[Any], role_ids: list[str], resources: list[Any],
                  ignore: str = "") -> None:
        wanted = self._canonical(kind, subjects, role_ids, resources)
        for pid, record in self.records.items():
            if pid == ignore:
                continue
            if self._canonical(record["type"], record["subjects"], [r["role_id"] for r in record["roles"]],
                               record["resources"]) == wanted:
                details = {"conflicts_with": {"etag": etag(pid, self.versions[pid]), "role": "",
                                              "policy": dict(record)}}
                raise ApiError(409, "policy_conflict_error", "Failed to create policy.", invented=False,
                               details=details)

    @staticmethod
    def _canonical(kind: str, subjects: list[Any], role_ids: list[str], resources: list[Any]) -> tuple[Any, ...]:
        def attrs(entries: list[Any]) -> frozenset[frozenset[tuple[str, str]]]:
            return frozenset(frozenset((a["name"], a["value"]) for a in e["attributes"]) for e in entries)
        return kind, attrs(subjects), frozenset(normalize_role(r) for r in role_ids), attrs(resources)

    # --- effect ----------------------------------------------------------------------------------------
    @staticmethod
    def _attr(record: dict[str, Any], name: str) -> str:
        for resource in record["resources"]:
            for attr in resource["attributes"]:
                if attr["name"] == name:
                    return str(attr["value"])
        return ""

    def _account(self, record: dict[str, Any]) -> str:
        return self._attr(record, "accountId") or self._attr(record, "account")

    def _sync(self) -> None:
        """Recompile every record into the Directory's policies (the realm enforces them from now on)."""
        compiled: list[Policy] = []
        for pid, record in self.records.items():
            subject = [{a["name"]: a["value"] for a in s["attributes"]} for s in record["subjects"]]
            iam_ids = frozenset(s["iam_id"] for s in subject if s.get("iam_id"))
            groups = frozenset(s["access_group_id"] for s in subject if s.get("access_group_id"))
            roles = tuple(normalize_role(r["role_id"]) for r in record["roles"])
            for resource in record["resources"]:
                values = {a["name"]: a["value"] for a in resource["attributes"]}
                compiled.append(Policy(
                    id=pid, iam_ids=iam_ids, access_group_ids=groups, roles=roles,
                    account_id=values.get("accountId") or values.get("account", ""),
                    service_name=values.get("serviceName", ""), region=values.get("region", ""),
                    resource_type=values.get("resourceType", ""), resource=values.get("resource", ""),
                    geography=values.get("geography", "")))
        self.directory.set_policies(tuple(compiled))
