"""ICR token realm: username types, policies, errors, the registry token's header and claims, the /v2/ challenge."""
from __future__ import annotations

import base64
import hashlib
import json
import time

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from emu_helpers import BX, apikey_login, jwt_parts, realm_token

from icr_emulator import Emulator

BAD_CREDENTIAL = {"errors": [{"code": "UNAUTHORIZED", "message": "The login credentials are not valid, or your IBM Cloud account is not active.",
                              "detail": None}]}
SCOPE_A = "repository:team-a/app:pull,push"
SCOPE_B = "repository:team-b/app:pull,push"


def access_of(resp: requests.Response) -> list:
    """The access claim of a realm answer (asserting it is a 200 token answer)."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token"] == body["access_token"]
    return jwt_parts(body["token"])[1]["access"]


def test_iamapikey_reader(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A, SCOPE_B)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]
    counters = emu.counters()
    assert (counters["registry_token"], counters["registry_token_iamapikey"], counters["registry_token_issued"]) == (1, 1, 1)
    assert counters["iam_token"] == 0


def test_iamapikey_writer_push(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_A, "repository:team-a/other:pull", SCOPE_B)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]},
                               {"type": "repository", "name": "team-a/other", "actions": ["pull"]}]


def test_user_manager_all_namespaces_of_own_account(emu: Emulator) -> None:
    """An account-wide policy reaches the account's own namespaces; one no account owns is reached by none."""
    resp = realm_token(emu, "iamapikey", emu.apikey("user-admin"), SCOPE_A, "repository:demo/hello:push", "repository:undeclared/x:pull", SCOPE_B)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]},
                               {"type": "repository", "name": "demo/hello", "actions": ["push"]}]


def test_nopolicy_gets_empty_access(emu: Emulator) -> None:
    assert access_of(realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy"), SCOPE_A)) == []


def test_other_account(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-other-account"), SCOPE_A, SCOPE_B)
    assert access_of(resp) == [{"type": "repository", "name": "team-b/app", "actions": ["pull"]}]


def test_access_group_member(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-group-reader"), SCOPE_A)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]


def test_no_scope_gives_empty_access(emu: Emulator) -> None:
    assert access_of(realm_token(emu, "iamapikey", emu.apikey("svc-writer"))) == []


def test_catalog_scope_not_granted(emu: Emulator) -> None:
    assert access_of(realm_token(emu, "iamapikey", emu.apikey("user-admin"), "registry:catalog:*")) == []


def test_region_is_honoured(state_dir: str) -> None:
    with Emulator(state_dir=state_dir, region="eu-de") as emu:
        reader = access_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A))
        writer = access_of(realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_A))
    assert reader == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]
    assert writer == []


def test_iambearer(emu: Emulator) -> None:
    token = apikey_login(emu, "svc-writer").json()["access_token"]
    resp = realm_token(emu, "iambearer", token, SCOPE_A)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]
    assert emu.counters()["registry_token_iambearer"] == 1


def test_iambearer_expired(emu: Emulator) -> None:
    emu.set_lifetimes(access_token_lifetime=-10, outside_ibm_limits=True)
    token = apikey_login(emu, "svc-writer").json()["access_token"]
    resp = realm_token(emu, "iambearer", token, SCOPE_A)
    assert resp.status_code == 400 and resp.json() == BAD_CREDENTIAL


def test_iambearer_forged_and_prefixed(emu: Emulator) -> None:
    token = apikey_login(emu, "svc-writer").json()["access_token"]
    head, _body, sig = token.split(".")
    claims = jwt_parts(token)[1]
    claims["iam_id"] = "IBMid-6950003ABC"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert realm_token(emu, "iambearer", f"{head}.{forged_body}.{sig}", SCOPE_A).status_code == 400
    assert realm_token(emu, "iambearer", "Bearer " + token, SCOPE_A).status_code == 400
    other_key = jwt.encode(claims, "not-the-emulator-key-" * 4, algorithm="HS256")
    assert realm_token(emu, "iambearer", other_key, SCOPE_A).status_code == 400


def test_iamrefresh(emu: Emulator) -> None:
    refresh = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    resp = realm_token(emu, "iamrefresh", refresh, SCOPE_A)
    assert access_of(resp) == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]
    assert realm_token(emu, "iamrefresh", "not_supported", SCOPE_A).status_code == 400
    assert emu.counters()["registry_token_iamrefresh"] == 2


def test_unsupported_username(emu: Emulator) -> None:
    resp = realm_token(emu, "token", emu.apikey("svc-reader"), SCOPE_A)
    assert resp.status_code == 400
    error = resp.json()["errors"][0]
    assert error["code"] == "UNSUPPORTED"
    assert error["message"].startswith("The requested authentication method is not supported.")


@pytest.mark.parametrize("name", ["svc-deleted", "svc-disabled"])
def test_unusable_keys(emu: Emulator, name: str) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey(name), SCOPE_A)
    assert resp.status_code == 400 and resp.json() == BAD_CREDENTIAL


def test_locked_key_logs_in(emu: Emulator) -> None:
    assert access_of(realm_token(emu, "iamapikey", emu.apikey("svc-locked"), SCOPE_A))[0]["actions"] == ["pull"]


def test_bad_and_revoked_apikey(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", "Z" * 44, SCOPE_A)
    assert resp.status_code == 400 and resp.json() == BAD_CREDENTIAL
    emu.revoke("svc-writer")
    assert realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_A).status_code == 400


def test_bad_credential_status_401(state_dir: str) -> None:
    with Emulator(state_dir=state_dir, bad_credential_status=401) as emu:
        resp = realm_token(emu, "iamapikey", "Z" * 44, SCOPE_A)
    assert resp.status_code == 401 and resp.json() == BAD_CREDENTIAL


def test_no_authorization(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/oauth/token", params={"service": "registry", "scope": SCOPE_A}, timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Basic realm="')


def test_malformed_basic(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/oauth/token", headers={"Authorization": "Basic !!!"}, timeout=10)
    assert resp.status_code == 400 and resp.json() == BAD_CREDENTIAL


def test_wrong_service(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/oauth/token", params={"service": "other", "scope": SCOPE_A}, auth=("iamapikey", emu.apikey("svc-reader")),
                        timeout=10)
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "DENIED"


def test_token_response_and_claims(emu: Emulator) -> None:
    before = int(time.time())
    body = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A).json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z") and body["issued_at"][:4].isdigit()
    header, claims = jwt_parts(body["token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert claims["iss"] == "icr-emulator" and claims["aud"] == "registry"
    assert claims["sub"] == "iam-ServiceId-98914559-1ee5-44c5-b7ff-6f7aa240de8e"
    assert before <= claims["iat"] == claims["nbf"] and claims["exp"] == claims["iat"] + 300
    assert len(claims["jti"]) >= 16


def test_registry_token_lifetime(emu: Emulator) -> None:
    emu.set_lifetimes(registry_token_lifetime=60)
    body = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A).json()
    claims = jwt_parts(body["token"])[1]
    assert body["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


def test_x5c_and_libtrust_kid(emu: Emulator) -> None:
    token = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A).json()["token"]
    header = jwt.get_unverified_header(token)
    with open(emu.registry_cert_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    assert header["x5c"] == [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode().rstrip("=")
    assert header["kid"] == ":".join(b32[i:i + 4] for i in range(0, 48, 4))
    assert len(header["kid"].split(":")) == 12
    claims = jwt.decode(token, cert.public_key(), algorithms=["RS256"], audience="registry", issuer="icr-emulator")
    assert claims["access"][0]["name"] == "team-a/app"


def test_v2_challenge(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/v2/", timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == f'Bearer realm="{emu.url}/oauth/token", service="registry"'
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    token = realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy")).json()["token"]
    ok = requests.get(emu.url + "/v2/", headers={"Authorization": "Bearer " + token}, timeout=10)
    assert ok.status_code == 200 and ok.json() == {}
    bad = requests.get(emu.url + "/v2/", headers={"Authorization": "Bearer " + token[:-5] + "AAAAA"}, timeout=10)
    assert bad.status_code == 401
    assert emu.counters()["registry_v2"] == 3


def test_v2_scoped_challenges(emu: Emulator) -> None:
    url = emu.url + "/v2/team-a/app/manifests/latest"
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].endswith(', scope="repository:team-a/app:pull"')
    reader = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_A).json()["token"]
    auth = {"Authorization": "Bearer " + reader}
    assert requests.get(url, headers=auth, timeout=10).json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    push = requests.post(emu.url + "/v2/team-a/app/blobs/uploads/", headers=auth, timeout=10)
    assert push.status_code == 401
    assert push.headers["WWW-Authenticate"].endswith(', scope="repository:team-a/app:pull,push", error="insufficient_scope"')
    writer = realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_A).json()["token"]
    push = requests.post(emu.url + "/v2/team-a/app/blobs/uploads/", headers={"Authorization": "Bearer " + writer}, timeout=10)
    # An upload session opens (and can be cancelled), as a registry does; nothing is stored.
    assert push.status_code == 202 and push.headers["Location"].startswith("/v2/team-a/app/blobs/uploads/")
    assert requests.put(emu.url + push.headers["Location"], headers={"Authorization": "Bearer " + writer}, timeout=10).status_code == 405
