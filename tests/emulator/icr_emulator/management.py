"""Shared parts of the IAM Identity and Policy Management APIs: error bodies, the access rule, paging, times.

Access rule (README "IAM Identity and Policy Management APIs"): a request needs `Authorization: Bearer <access
token>` issued by this emulator for an identity that still exists (else 401). The caller may act in an account if
it is that account's owner (the account's first identity of type `user` in the fixture: `user-admin` for a1;
a2 has none), or if a policy in that account gives it (or one of its access groups) a platform role
on the API's service: `iam-identity` for the Identity API, `iam-access-management` for the Policy API. Reads
need Viewer, Operator, Editor or Administrator; changes need Editor or Administrator. A user may always read
and change its own API keys. Anything else gets 403.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from .directory import Directory
from .fixture import Identity
from .httpio import Request, Response, json_response
from .iam import INVENTED_HEADER, error_context

IDENTITY_SERVICE = "iam-identity"
POLICY_SERVICE = "iam-access-management"
READ_ROLES = frozenset({"platform:Viewer", "platform:Operator", "platform:Editor", "platform:Administrator"})
WRITE_ROLES = frozenset({"platform:Editor", "platform:Administrator"})
MANAGEMENT_ENDPOINTS = ("identity_serviceids", "identity_apikeys", "policies")
IBM_TIME = "%Y-%m-%dT%H:%M%z"   # yyyy-MM-ddTHH:mm+0000, the Identity API's time format


class ApiError(Exception):
    """An error answer of a management API; `invented` marks a code no IBM source shows."""

    def __init__(self, status: int, code: str, message: str, invented: bool = True,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.invented = invented
        self.details = details


def identity_error(req: Request, base_url: str, err: ApiError) -> Response:
    """The Identity API's error body: context, trace, errors[{code, message}], status_code."""
    body = {"context": error_context(req, base_url, "incoming.Identity_Management"), "trace": uuid.uuid4().hex,
            "errors": [{"code": err.code, "message": err.message}], "status_code": err.status}
    return _finish(json_response(err.status, body), err)


def policy_error(err: ApiError) -> Response:
    """The Policy API's error body: trace, errors[{code, message, details?}], status_code."""
    entry: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.details is not None:
        entry["details"] = err.details
    body = {"trace": uuid.uuid4().hex, "errors": [entry], "status_code": err.status}
    return _finish(json_response(err.status, body), err)


def _finish(resp: Response, err: ApiError) -> Response:
    if err.invented:
        resp.set_header(INVENTED_HEADER, err.code)
    resp.note = err.code
    return resp


def now_ibm() -> str:
    """The current time as the Identity API writes it."""
    return time.strftime("%Y-%m-%dT%H:%M+0000", time.gmtime())


def parse_ibm_time(value: Any, field: str) -> float:
    """Epoch seconds of a yyyy-MM-ddTHH:mm+0000 value; ApiError 400 otherwise."""
    try:
        return datetime.strptime(str(value), IBM_TIME).astimezone(timezone.utc).timestamp()
    except ValueError:
        raise ApiError(400, "invalid_property", f"'{field}' must be a time in the form yyyy-MM-ddTHH:mm+0000, "
                       "for example 2030-01-31T23:59+0000") from None


def json_body(req: Request) -> dict[str, Any]:
    """The request body as a JSON object; ApiError 400 otherwise."""
    try:
        data = json.loads(req.body.decode("utf-8")) if req.body else None
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return data


def etag(entity_id: str, version: int) -> str:
    """An entity tag / ETag: version, dash, 32 hex characters (IBM's shape, e.g. 1-4f32f6c5...)."""
    return f"{version}-{uuid.uuid5(uuid.NAMESPACE_URL, f'{entity_id}#{version}').hex}"


def check_if_match(req: Request, current: str, locked: bool = False) -> None:
    """The If-Match rule of PUT: required (428), `*` or the current tag (else 412); locked entities 409."""
    given = req.header("If-Match").strip()
    if not given:
        raise ApiError(428, "missing_if_match", "The If-Match header is required: send the entity_tag (ETag) of "
                       "the current version, or '*'.")
    if locked:
        raise ApiError(409, "entity_locked", "The entity is locked: unlock it before changing or deleting it.")
    if given != "*" and given.strip('"') != current:
        raise ApiError(412, "entity_tag_mismatch", "The If-Match value is not the current entity_tag: read the "
                       "entity again and retry with its entity_tag.")


# --- paging ----------------------------------------------------------------------------------------
def page_token(offset: int) -> str:
    """An opaque page token for an offset."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def page_offset(token: str, param: str) -> int:
    """The offset a page token names; ApiError 400 for a token this emulator did not make."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
        if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
            return offset
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise ApiError(400, "invalid_page_token", f"'{param}' is not a page token of this list: use the value of "
                   "'next' from the previous page.")


def page_size(value: str, param: str, default: int, maximum: int = 100) -> int:
    """A page size parameter, 1..maximum; ApiError 400 otherwise."""
    if not value:
        return default
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= maximum:
        raise ApiError(400, "invalid_page_size", f"'{param}' must be an integer from 1 to {maximum}.")
    return size


# --- access ----------------------------------------------------------------------------------------
class Caller:
    """The verified caller of a management API."""

    def __init__(self, identity: Identity, claims: dict[str, Any]) -> None:
        self.identity = identity
        self.claims = claims
        self.iam_id = identity.iam_id


def authenticate(req: Request, verify: Callable[[str], dict[str, Any] | None], directory: Directory) -> Caller:
    """The caller behind the Bearer token; ApiError 401 for a missing, bad, expired or orphaned token."""
    claims = verify(req.bearer())
    identity = directory.identity(str(claims.get("iam_id", ""))) if claims else None
    if claims is None or identity is None:
        raise ApiError(401, "BXNIM0308E", "No authorization header found or the token is not valid: send "
                       "'Authorization: Bearer <IAM access token>'.")
    return Caller(identity, claims)


def account_owner(directory: Directory, account_id: str) -> str:
    """The iam_id of an account's owner: the first user identity of the account in the fixture, or ''."""
    for identity in directory.fixture.identities.values():
        if identity.kind == "user" and identity.account_id == account_id:
            return identity.iam_id
    return ""


def may(directory: Directory, caller: Caller, account_id: str, service: str, write: bool) -> bool:
    """Whether the caller may read (or change) the service's entities in account_id."""
    if not account_id:
        return False
    if account_owner(directory, account_id) == caller.iam_id:
        return True
    roles = WRITE_ROLES if write else READ_ROLES
    groups = directory.fixture.groups_of(caller.iam_id)
    for policy in directory.fixture.policies:
        if policy.account_id != account_id or policy.service_name != service:
            continue
        if caller.iam_id not in policy.iam_ids and not groups & policy.access_group_ids:
            continue
        if roles & set(policy.roles):
            return True
    return False


def require(directory: Directory, caller: Caller, account_id: str, service: str, write: bool) -> None:
    """ApiError 403 unless the caller may act so in account_id."""
    if not may(directory, caller, account_id, service, write):
        need = "Editor or Administrator" if write else "Viewer, Operator, Editor or Administrator"
        raise ApiError(403, "insufficient_permissions", f"You are not allowed to {'change' if write else 'read'} "
                       f"{service} entities in account {account_id or '(none)'}: the caller needs the {need} role "
                       f"on {service} in that account.")
