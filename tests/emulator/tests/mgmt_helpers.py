"""Helpers for the Identity and Policy Management API tests: tokens, headers, realm logins."""
from __future__ import annotations

from typing import Any

import requests

from emu_helpers import APIKEY_GRANT, iam_token, jwt_parts, realm_token
from icr_emulator import Emulator

A1 = "0399f7d0bbd61ecb2ec14cc4d51098bb"
A2 = "7debd775e2ed3ee17a9eff43ca8813d1"
READER_IAM_ID = "iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e"
NOPOLICY_IAM_ID = "iam-ServiceId-0afcb5b8-d557-4c38-8d7c-f0aa14d332f3"
CR_ROLE = "crn:v1:bluemix:public:container-registry::::serviceRole:"
PLATFORM_ROLE = "crn:v1:bluemix:public:iam::::role:"


def token_for_value(emu: Emulator, value: str) -> str:
    """An IAM access token for an API key value."""
    resp = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": value})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def auth(emu: Emulator, name: str = "user-admin") -> dict[str, str]:
    """Authorization header with an access token of the fixture key `name`."""
    return {"Authorization": "Bearer " + token_for_value(emu, emu.apikey(name))}


def call(emu: Emulator, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """One request to the emulator."""
    return requests.request(method, emu.url + path, headers=headers or {}, timeout=10, **kwargs)


def create_service_id(emu: Emulator, headers: dict[str, str], name: str, account: str = A1, **body: Any) -> dict[str, Any]:
    """POST /v1/serviceids/; the record."""
    resp = call(emu, "POST", "/v1/serviceids/", headers, json=dict({"account_id": account, "name": name}, **body))
    assert resp.status_code == 201, resp.text
    return resp.json()


def create_apikey(emu: Emulator, headers: dict[str, str], iam_id: str, name: str = "k", **body: Any) -> dict[str, Any]:
    """POST /v1/apikeys; the record (with the value)."""
    resp = call(emu, "POST", "/v1/apikeys", headers, json=dict({"name": name, "iam_id": iam_id}, **body))
    assert resp.status_code == 201, resp.text
    return resp.json()


def policy_body(iam_id: str, role: str = "Reader", namespace: str = "team-a", service: str = "container-registry",
                account: str = A1, region: str | None = None) -> dict[str, Any]:
    """A v1 access policy body as reference 3.2 shows it."""
    attrs = [{"name": "accountId", "value": account}, {"name": "serviceName", "value": service}]
    if region:
        attrs.append({"name": "region", "value": region})
    if service == "container-registry":
        attrs += [{"name": "resourceType", "value": "namespace"}, {"name": "resource", "value": namespace}]
    role_id = (CR_ROLE if service == "container-registry" and role in ("Reader", "Writer", "Manager") else PLATFORM_ROLE) + role
    return {"type": "access", "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
            "roles": [{"role_id": role_id}], "resources": [{"attributes": attrs}]}


def pull_granted(emu: Emulator, value: str, repo: str = "team-a/app") -> bool | None:
    """None when the realm refuses the key; else whether the token grants pull on repo."""
    resp = realm_token(emu, "iamapikey", value, f"repository:{repo}:pull")
    if resp.status_code != 200:
        return None
    _head, claims = jwt_parts(resp.json()["token"])
    return any(a["name"] == repo and "pull" in a["actions"] for a in claims["access"])


def push_granted(emu: Emulator, value: str, repo: str = "team-a/app") -> bool:
    """Whether the realm grants push on repo to the key."""
    resp = realm_token(emu, "iamapikey", value, f"repository:{repo}:push")
    if resp.status_code != 200:
        return False
    _head, claims = jwt_parts(resp.json()["token"])
    return any(a["name"] == repo and "push" in a["actions"] for a in claims["access"])
