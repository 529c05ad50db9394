"""IAM Identity API: service IDs and API keys (/v1/serviceids/, /v1/apikeys), reference identity-and-helpers 3.1.

The runtime state lives in the Directory (identities, keys with their secret value and state), so the token
service and the registry realm follow every change at once. This module keeps what only the Identity API shows:
names, descriptions, entity tags, lock and disable flags, times, store_value.
"""
from __future__ import annotations

import dataclasses
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from .directory import Directory
from .fixture import ApiKey, Fixture, Identity
from .httpio import Request, Response, json_response
from .management import (IDENTITY_SERVICE, ApiError, Caller, authenticate, check_if_match, etag, identity_error,
                         json_body, now_ibm, page_offset, page_size, page_token, parse_ibm_time, require)

_SERVICEID_PATH = re.compile(r"^/v1/serviceids/?(?P<id>[^/]+)?(?P<lock>/lock)?/?$")
_APIKEY_PATH = re.compile(r"^/v1/apikeys/?(?P<id>[^/]+)?(?P<action>/lock|/disable)?/?$")
_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
SORT_FIELDS = ("name", "description", "created_at", "modified_at")


@dataclass
class ServiceIdMeta:
    """What the Identity API shows of a service ID."""

    id: str
    iam_id: str
    account_id: str
    name: str
    description: str = ""
    unique_instance_crns: list[str] = field(default_factory=list)
    locked: bool = False
    created_at: str = "2026-01-01T00:00+0000"
    modified_at: str = "2026-01-01T00:00+0000"
    version: int = 1
    seq: int = 0


@dataclass
class ApiKeyMeta:
    """What the Identity API shows of an API key; `handle` is the key's name in the Directory."""

    id: str
    handle: str
    name: str
    iam_id: str
    account_id: str
    description: str = ""
    locked: bool = False
    disabled: bool = False
    created_at: str = "2026-01-01T00:00+0000"
    modified_at: str = "2026-01-01T00:00+0000"
    created_by: str = ""
    expires_at: str | None = None
    store_value: bool = False
    support_sessions: bool = False
    action_when_leaked: str = "none"
    version: int = 1
    seq: int = 0


def _bool_header(req: Request, name: str) -> bool:
    return req.header(name).strip().lower() == "true"


class IdentityApi:
    """Handlers of /v1/serviceids/ and /v1/apikeys (and /v1/apikeys/details)."""

    def __init__(self, directory: Directory, fixture: Fixture, verify: Callable[[str], dict[str, Any] | None],
                 base_url: str, on_service_id_deleted: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.fixture = fixture
        self.verify = verify
        self.base_url = base_url
        self.on_service_id_deleted = on_service_id_deleted
        self._lock = threading.RLock()
        self._seq = 0
        self.serviceids: dict[str, ServiceIdMeta] = {}
        self.keys: dict[str, ApiKeyMeta] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the fixture's service IDs and keys."""
        with self._lock:
            self.serviceids = {}
            self.keys = {}
            for identity in self.fixture.identities.values():
                if identity.kind == "serviceid":
                    sid = identity.identifier
                    self.serviceids[sid] = ServiceIdMeta(sid, identity.iam_id, identity.account_id, identity.name,
                                                         seq=self._next())
            for key in self.fixture.apikeys:
                self.keys[key.id] = ApiKeyMeta(
                    key.id, key.name, key.name, key.iam_id, key.account_id, key.description,
                    locked=key.state == "locked", disabled=key.state == "disabled", created_at=key.created_at,
                    modified_at=key.created_at, created_by=key.iam_id, seq=self._next())

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # --- dispatch ----------------------------------------------------------------------------------
    def handle_serviceids(self, req: Request) -> Response:
        """/v1/serviceids/[{id}[/lock]]."""
        return self._guard(req, self._serviceids)

    def handle_apikeys(self, req: Request) -> Response:
        """/v1/apikeys[/{id}[/lock|/disable]]."""
        return self._guard(req, self._apikeys)

    def _guard(self, req: Request, handler: Callable[[Request, Caller], Response]) -> Response:
        try:
            caller = authenticate(req, self.verify, self.directory)
            with self._lock:
                return handler(req, caller)
        except ApiError as err:
            return identity_error(req, self.base_url, err)

    def _serviceids(self, req: Request, caller: Caller) -> Response:
        match = _SERVICEID_PATH.match(req.path)
        if match is None:
            raise ApiError(404, "not_found", "Not found.")
        sid, lock = match.group("id"), match.group("lock")
        if sid is None:
            if req.method == "GET":
                return self._list_serviceids(req, caller)
            if req.method == "POST":
                return self._create_serviceid(req, caller)
            raise ApiError(405, "method_not_allowed", "Method not allowed.")
        meta = self.serviceids.get(sid)
        if meta is None:
            raise ApiError(404, "not_found", f"Service ID {sid[:80]} not found.")
        if lock:
            if req.method not in ("POST", "DELETE"):
                raise ApiError(405, "method_not_allowed", "Method not allowed.")
            require(self.directory, caller, meta.account_id, IDENTITY_SERVICE, True)
            self._touch(meta, locked=req.method == "POST")
            return Response(204)
        write = req.method != "GET"
        require(self.directory, caller, meta.account_id, IDENTITY_SERVICE, write)
        if req.method == "GET":
            return self._serviceid_response(200, meta, req.arg("include_history") == "true")
        if req.method == "PUT":
            check_if_match(req, etag(meta.id, meta.version), meta.locked)
            data = json_body(req)
            changes: dict[str, Any] = {}
            for name in ("name", "description"):
                if name in data:
                    changes[name] = self._text(data, name, required=name == "name")
            if "unique_instance_crns" in data:
                changes["unique_instance_crns"] = self._crns(data)
            self._touch(meta, **changes)
            identity = self.directory.identity(meta.iam_id)
            if identity is not None:
                self.directory.put_identity(dataclasses.replace(identity, name=meta.name))
            return self._serviceid_response(200, meta)
        if req.method == "DELETE":
            if meta.locked:
                raise ApiError(409, "entity_locked", "The service ID is locked: unlock it before deleting it.")
            self._delete_serviceid(meta)
            return Response(204)
        raise ApiError(405, "method_not_allowed", "Method not allowed.")

    # --- service IDs -------------------------------------------------------------------------------
    def _list_serviceids(self, req: Request, caller: Caller) -> Response:
        account_id = req.arg("account_id")
        if not account_id:
            raise ApiError(400, "missing_property", "The query parameter 'account_id' is required.")
        require(self.directory, caller, account_id, IDENTITY_SERVICE, False)
        items = [m for m in self.serviceids.values() if m.account_id == account_id]
        if req.arg("name"):
            items = [m for m in items if m.name == req.arg("name")]
        items = self._sorted(req, items)
        page, extra = self._page(req, items, "serviceids", {"account_id": account_id, "name": req.arg("name")})
        return json_response(200, dict(extra, serviceids=[self.serviceid_record(m) for m in page]))

    def _create_serviceid(self, req: Request, caller: Caller) -> Response:
        data = json_body(req)
        account_id = self._text(data, "account_id", required=True)
        name = self._text(data, "name", required=True)
        require(self.directory, caller, account_id, IDENTITY_SERVICE, True)
        description = self._text(data, "description")
        crns = self._crns(data) if "unique_instance_crns" in data else []
        apikey_spec = data.get("apikey")
        if apikey_spec is not None and not isinstance(apikey_spec, dict):
            raise ApiError(400, "invalid_property", "'apikey' must be an object with at least 'name'.")
        sid = f"ServiceId-{uuid.uuid4()}"
        stamp = now_ibm()
        meta = ServiceIdMeta(sid, "iam-" + sid, account_id, name, description, crns,
                             locked=_bool_header(req, "Entity-Lock"), created_at=stamp, modified_at=stamp,
                             seq=self._next())
        key_record = None
        if apikey_spec is not None:
            key_data = dict(apikey_spec, iam_id=meta.iam_id, account_id=account_id)
            self._validate_key(key_data, "serviceid")   # before anything is created
        self.directory.put_identity(Identity(meta.iam_id, "serviceid", account_id, name))
        self.serviceids[sid] = meta
        if apikey_spec is not None:
            key_record = self._make_key(dict(apikey_spec, iam_id=meta.iam_id, account_id=account_id), caller,
                                        False, False)
        record = self.serviceid_record(meta)
        if key_record is not None:
            record["apikey"] = key_record
        resp = json_response(201, record)
        resp.note = "created"
        return resp

    def _delete_serviceid(self, meta: ServiceIdMeta) -> None:
        for key in list(self.keys.values()):
            if key.iam_id == meta.iam_id:
                self._delete_key(key)
        del self.serviceids[meta.id]
        self.directory.remove_identity(meta.iam_id)
        if self.on_service_id_deleted is not None:
            self.on_service_id_deleted(meta.iam_id)

    def serviceid_record(self, meta: ServiceIdMeta, history: bool = False) -> dict[str, Any]:
        """The ServiceId record (no API key value)."""
        record: dict[str, Any] = {
            "id": meta.id, "iam_id": meta.iam_id, "entity_tag": etag(meta.id, meta.version),
            "crn": f"crn:v1:bluemix:public:iam-identity::a/{meta.account_id}::serviceid:{meta.id}",
            "locked": meta.locked, "created_at": meta.created_at, "modified_at": meta.modified_at,
            "account_id": meta.account_id, "name": meta.name, "description": meta.description,
            "unique_instance_crns": list(meta.unique_instance_crns),
        }
        if history:
            record["history"] = []
        return record

    def _serviceid_response(self, status: int, meta: ServiceIdMeta, history: bool = False) -> Response:
        record = self.serviceid_record(meta, history)
        record["context"] = self._context("GetServiceId")
        return json_response(status, record, [("ETag", record["entity_tag"])])

    # --- API keys ----------------------------------------------------------------------------------
    def _apikeys(self, req: Request, caller: Caller) -> Response:
        match = _APIKEY_PATH.match(req.path)
        if match is None:
            raise ApiError(404, "not_found", "Not found.")
        kid, action = match.group("id"), match.group("action")
        if kid is None:
            if req.method == "GET":
                return self._list_apikeys(req, caller)
            if req.method == "POST":
                return self._create_apikey(req, caller)
            raise ApiError(405, "method_not_allowed", "Method not allowed.")
        meta = self._live_key(kid)
        if meta is None:
            raise ApiError(404, "not_found", f"API key {kid[:80]} not found.")
        write = req.method != "GET"
        self._require_key(caller, meta, write)
        if action:
            if req.method not in ("POST", "DELETE"):
                raise ApiError(405, "method_not_allowed", "Method not allowed.")
            on = req.method == "POST"
            self._touch(meta, **({"locked": on} if action == "/lock" else {"disabled": on}))
            self._sync_key(meta)
            return Response(204)
        if req.method == "GET":
            record = self.apikey_record(meta, with_value=meta.store_value)
            if req.arg("include_history") == "true":
                record["history"] = []
            record["context"] = self._context("GetApiKey")
            return json_response(200, record, [("ETag", record["entity_tag"])])
        if req.method == "PUT":
            check_if_match(req, etag(meta.id, meta.version), meta.locked)
            data = json_body(req)
            changes: dict[str, Any] = {}
            for name in ("name", "description"):
                if name in data:
                    changes[name] = self._text(data, name, required=name == "name")
            if "expires_at" in data:
                changes["expires_at"] = self._expires(data)
            for name in ("support_sessions",):
                if name in data:
                    changes[name] = bool(data[name])
            if "action_when_leaked" in data:
                changes["action_when_leaked"] = self._leaked(data)
            self._touch(meta, **changes)
            self._sync_key(meta)
            record = self.apikey_record(meta)
            return json_response(200, record, [("ETag", record["entity_tag"])])
        if req.method == "DELETE":
            if meta.locked:
                raise ApiError(409, "entity_locked", "The API key is locked: unlock it before deleting it.")
            self._delete_key(meta)
            return Response(204)
        raise ApiError(405, "method_not_allowed", "Method not allowed.")

    def _require_key(self, caller: Caller, meta: ApiKeyMeta, write: bool) -> None:
        identity = self.directory.identity(meta.iam_id)
        if identity is not None and identity.kind == "user" and caller.iam_id == meta.iam_id:
            return   # a user manages its own API keys
        require(self.directory, caller, meta.account_id, IDENTITY_SERVICE, write)

    def _list_apikeys(self, req: Request, caller: Caller) -> Response:
        account_id = req.arg("account_id") or caller.identity.account_id
        iam_id = req.arg("iam_id")
        scope = req.arg("scope") or "entity"
        kind = req.arg("type")
        if scope not in ("entity", "account"):
            raise ApiError(400, "invalid_property", "'scope' must be 'entity' or 'account'.")
        if kind not in ("", "user", "serviceid"):
            raise ApiError(400, "invalid_property", "'type' must be 'user' or 'serviceid'.")
        if not iam_id and scope == "entity":
            iam_id = caller.iam_id
        items = [m for m in self._live_keys() if m.account_id == account_id and (not iam_id or m.iam_id == iam_id)]
        if kind:
            items = [m for m in items if self._kind(m.iam_id) == kind]
        if not (iam_id == caller.iam_id and caller.identity.kind == "user"):
            require(self.directory, caller, account_id, IDENTITY_SERVICE, False)
        items = self._sorted(req, items)
        page, extra = self._page(req, items, "apikeys", {"account_id": account_id, "iam_id": iam_id, "scope": scope,
                                                         "type": kind})
        return json_response(200, dict(extra, apikeys=[self.apikey_record(m) for m in page]))

    def _create_apikey(self, req: Request, caller: Caller) -> Response:
        data = json_body(req)
        iam_id = self._text(data, "iam_id", required=True)
        identity = self.directory.identity(iam_id)
        if identity is None:
            raise ApiError(400, "invalid_iam_id", f"No identity with iam_id {iam_id[:120]} exists.")
        data.setdefault("account_id", identity.account_id)
        if identity.kind == "user" and caller.iam_id == iam_id:
            pass   # a user creates its own keys
        else:
            require(self.directory, caller, str(data["account_id"]), IDENTITY_SERVICE, True)
        self._validate_key(data, identity.kind)
        record = self._make_key(data, caller, _bool_header(req, "Entity-Lock"), _bool_header(req, "Entity-Disable"))
        resp = json_response(201, record)
        resp.note = "created"
        return resp

    def _validate_key(self, data: dict[str, Any], kind: str) -> None:
        self._text(data, "name", required=True)
        self._text(data, "description")
        value = data.get("apikey")
        if value is not None:
            if not isinstance(value, str) or not _VALUE.match(value):
                raise ApiError(400, "invalid_apikey", "'apikey' (a value of your own) must be 32-128 characters "
                               "of A-Z, a-z, 0-9, '_' and '-'.")
            if any(secrets.compare_digest(k.value, value) for k in self.directory.all_keys()):
                raise ApiError(400, "apikey_not_unique", "The given 'apikey' value is already in use: API key "
                               "values must be unique.")
        if data.get("store_value") and kind == "user":
            raise ApiError(400, "invalid_store_value", "'store_value' must be false for the API keys of users.")
        if "expires_at" in data:
            self._expires(data)
        if "action_when_leaked" in data:
            self._leaked(data)

    def _make_key(self, data: dict[str, Any], caller: Caller, locked: bool, disabled: bool) -> dict[str, Any]:
        kid = f"ApiKey-{uuid.uuid4()}"
        value = data.get("apikey") or secrets.token_urlsafe(33)
        stamp = now_ibm()
        meta = ApiKeyMeta(kid, kid, str(data["name"]), str(data["iam_id"]), str(data["account_id"]),
                          str(data.get("description") or ""), locked=locked, disabled=disabled, created_at=stamp,
                          modified_at=stamp, created_by=caller.iam_id, expires_at=self._expires(data),
                          store_value=bool(data.get("store_value")), support_sessions=bool(data.get("support_sessions")),
                          action_when_leaked=self._leaked(data), seq=self._next())
        self.keys[kid] = meta
        self.directory.put_key(ApiKey(name=kid, id=kid, value=value, iam_id=meta.iam_id, account_id=meta.account_id,
                                      description=meta.description, created_at=stamp))
        self._sync_key(meta)
        return self.apikey_record(meta, with_value=True)

    def _delete_key(self, meta: ApiKeyMeta) -> None:
        key = self.directory.key_by_name(meta.handle)
        if key is not None:
            self.directory.put_key(dataclasses.replace(key, state="deleted"))
        self.keys.pop(meta.id, None)

    def _sync_key(self, meta: ApiKeyMeta) -> None:
        """Push the flags that matter for authentication into the Directory."""
        key = self.directory.key_by_name(meta.handle)
        if key is None or key.state == "deleted":
            return
        state = "disabled" if meta.disabled else "locked" if meta.locked else "active"
        expires = parse_ibm_time(meta.expires_at, "expires_at") if meta.expires_at else None
        self.directory.put_key(dataclasses.replace(key, state=state, expires_at=expires, description=meta.description))

    def _live_key(self, kid: str) -> ApiKeyMeta | None:
        meta = self.keys.get(kid)
        if meta is None:
            return None
        key = self.directory.key_by_name(meta.handle)
        return None if key is None or key.state == "deleted" else meta

    def _live_keys(self) -> list[ApiKeyMeta]:
        return [m for m in self.keys.values() if self._live_key(m.id) is not None]

    def apikey_record(self, meta: ApiKeyMeta, with_value: bool = False) -> dict[str, Any]:
        """The ApiKey record; the value only when asked (create, or store_value)."""
        record: dict[str, Any] = {
            "id": meta.id, "entity_tag": etag(meta.id, meta.version),
            "crn": f"crn:v1:bluemix:public:iam-identity::a/{meta.account_id}::apikey:{meta.id}",
            "locked": meta.locked, "disabled": meta.disabled, "created_at": meta.created_at,
            "created_by": meta.created_by, "modified_at": meta.modified_at, "name": meta.name,
            "description": meta.description, "iam_id": meta.iam_id, "account_id": meta.account_id,
            "support_sessions": meta.support_sessions, "action_when_leaked": meta.action_when_leaked,
        }
        if meta.expires_at:
            record["expires_at"] = meta.expires_at
        if with_value:
            key = self.directory.key_by_name(meta.handle)
            if key is not None:
                record["apikey"] = key.value
        return record

    def apikey_details(self, req: Request) -> Response:
        """GET /v1/apikeys/details with header IAM-ApiKey: the key's record, never its value."""
        try:
            if req.method != "GET":
                raise ApiError(405, "method_not_allowed", "Method not allowed.")
            authenticate(req, self.verify, self.directory)
            value = req.header("IAM-ApiKey")
            if not value:
                raise ApiError(400, "BXNIM0109E", "Property missing or empty. Header 'IAM-ApiKey'.")
            key = self.directory.key_by_value(value)
            with self._lock:
                meta = self.keys.get(key.id) if key is not None else None
                if meta is None:
                    raise ApiError(404, "not_found", "API key not found.")
                record = self.apikey_record(meta)
            record["context"] = self._context("GetApiKeysDetails")
            return json_response(200, record)
        except ApiError as err:
            return identity_error(req, self.base_url, err)

    def service_id_locked(self, iam_id: str) -> bool:
        """Whether iam_id is a locked service ID (no lock taken: the Policy API calls this under its own lock)."""
        return any(m.locked for m in list(self.serviceids.values()) if m.iam_id == iam_id)

    # --- shared ------------------------------------------------------------------------------------
    def _kind(self, iam_id: str) -> str:
        identity = self.directory.identity(iam_id)
        return identity.kind if identity is not None else ""

    def _touch(self, meta: Any, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(meta, name, value)
        meta.version += 1
        meta.modified_at = now_ibm()

    @staticmethod
    def _text(data: dict[str, Any], name: str, required: bool = False) -> str:
        value = data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise ApiError(400, "missing_property" if value in (None, "") else "invalid_property",
                           f"'{name}' is required and must be a non-empty string." if required
                           else f"'{name}' must be a string.")
        return value

    @staticmethod
    def _crns(data: dict[str, Any]) -> list[str]:
        value = data.get("unique_instance_crns")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, "invalid_property", "'unique_instance_crns' must be a list of CRN strings.")
        return list(value)

    @staticmethod
    def _expires(data: dict[str, Any]) -> str | None:
        value = data.get("expires_at")
        if value in (None, ""):
            return None
        parse_ibm_time(value, "expires_at")
        return str(value)

    @staticmethod
    def _leaked(data: dict[str, Any]) -> str:
        value = data.get("action_when_leaked", "none")
        if value not in ("none", "disable", "delete"):
            raise ApiError(400, "invalid_property", "'action_when_leaked' must be 'none', 'disable' or 'delete'.")
        return str(value)

    @staticmethod
    def _sorted(req: Request, items: list[Any]) -> list[Any]:
        sort = req.arg("sort")
        order = req.arg("order") or "asc"
        if sort and sort not in SORT_FIELDS:
            raise ApiError(400, "invalid_property", f"'sort' must be one of {', '.join(SORT_FIELDS)}.")
        if order not in ("asc", "desc"):
            raise ApiError(400, "invalid_property", "'order' must be 'asc' or 'desc'.")
        key = (lambda m: (getattr(m, sort), m.seq)) if sort else (lambda m: m.seq)
        return sorted(items, key=key, reverse=order == "desc")

    def _page(self, req: Request, items: list[Any], path: str, params: dict[str, str]) -> tuple[list[Any], dict[str, Any]]:
        size = page_size(req.arg("pagesize"), "pagesize", 20)
        offset = page_offset(req.arg("pagetoken"), "pagetoken")
        query = {k: v for k, v in params.items() if v}
        for name in ("sort", "order"):
            if req.arg(name):
                query[name] = req.arg(name)
        query["pagesize"] = str(size)
        base = f"{self.base_url}/v1/{path}{'/' if path == 'serviceids' else ''}?{urlencode(query)}"
        extra: dict[str, Any] = {"context": self._context("List"), "offset": offset, "limit": size,
                                 "first": base}
        if offset > 0:
            extra["previous"] = f"{base}&pagetoken={page_token(max(0, offset - size))}"
        if offset + size < len(items):
            extra["next"] = f"{base}&pagetoken={page_token(offset + size)}"
        return items[offset:offset + size], extra

    @staticmethod
    def _context(operation: str) -> dict[str, str]:
        return {"transaction_id": uuid.uuid4().hex, "operation": operation, "elapsed_time": "1",
                "start_time": str(int(time.time() * 1000)), "end_time": str(int(time.time() * 1000)),
                "instance_id": "iam-identity-emulator"}
