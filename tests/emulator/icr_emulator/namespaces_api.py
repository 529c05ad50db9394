"""The Container Registry management API's namespace list: `GET /api/v1/namespaces` (README "Container Registry
namespaces API").

ICR serves its management API on each registry host under `/api/v1/...`, with the header `Account: <account id>`
and an IAM Bearer token. The emulator answers the fixture's namespaces of that account as a JSON list of names,
sorted (the shape is the emulator's choice: the project's reference gives none). The emulator is one registry, so
every region's host gets the same list. Rule: the caller's token must be a valid emulator access token of an
identity that still exists, and that identity must belong to the `Account` account (else 403). Error bodies
`{"code", "message"}` with invented codes, marked `X-Icr-Emulator-Invented`.
"""
from __future__ import annotations

from typing import Any, Callable

from .directory import Directory
from .httpio import Request, Response, json_response
from .iam import INVENTED_HEADER

NAMESPACES_PATH = "/api/v1/namespaces"


def _error(status: int, code: str, message: str) -> Response:
    resp = json_response(status, {"code": code, "message": message})
    resp.set_header(INVENTED_HEADER, code)
    resp.note = code
    return resp


class NamespacesApi:
    """GET /api/v1/namespaces."""

    def __init__(self, directory: Directory, verify: Callable[[str], dict[str, Any] | None]) -> None:
        self.directory = directory
        self.verify = verify

    def handle(self, req: Request) -> Response:
        """The namespaces of the Account header's account, for a caller of that account."""
        if req.method != "GET":
            resp = _error(405, "CRG0405E", "Method not allowed: use GET.")
            resp.set_header("Allow", "GET")
            return resp
        claims = self.verify(req.bearer())
        identity = self.directory.identity(str(claims.get("iam_id", ""))) if claims else None
        if claims is None or identity is None:
            return _error(401, "CRG0401E", "You are not authorized: send 'Authorization: Bearer <IAM access token>'.")
        account = req.header("Account").strip()
        if not account:
            return _error(400, "CRG0400E", "The Account header is missing: send 'Account: <account id>'.")
        if identity.account_id != account:
            return _error(403, "CRG0403E", f"You are not authorized to list the namespaces of account {account}.")
        names = sorted(ns for ns, owner in self.directory.fixture.namespaces.items() if owner == account)
        return json_response(200, names)
