"""Helpers for the emulator tests: IAM and realm calls over real HTTP."""
from __future__ import annotations

import base64
import json
from typing import Any

import requests

from icr_emulator import Emulator

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
BX = ("bx", "bx")


def iam_token(emu: Emulator, data: dict[str, str], auth: Any = None, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """POST /identity/token with a form body."""
    headers = {"Accept": "application/json", **(headers or {})}
    return requests.post(emu.url + "/identity/token", data=data, auth=auth, headers=headers, timeout=10, **kwargs)


def apikey_login(emu: Emulator, name: str, auth: Any = None) -> requests.Response:
    """The apikey grant for a fixture key."""
    return iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": emu.apikey(name)}, auth=auth)


def realm_token(emu: Emulator, user: str, password: str, *scopes: str, **kwargs: Any) -> requests.Response:
    """GET /oauth/token with Basic auth and scopes."""
    params: list[tuple[str, str]] = [("service", "registry")] + [("scope", s) for s in scopes]
    return requests.get(emu.url + "/oauth/token", params=params, auth=(user, password), timeout=10, **kwargs)


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT, decoded without verification."""
    def part(seg: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    head, body, _sig = token.split(".")
    return part(head), part(body)


def verify_access(emu: Emulator, token: str) -> dict[str, Any]:
    """Claims of an IAM access token, verified against the JWKS at /identity/keys."""
    import jwt  # pylint: disable=import-outside-toplevel
    jwks = requests.get(emu.url + "/identity/keys", timeout=10).json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(token, key.key, algorithms=["RS256"], issuer=emu.url + "/identity")
