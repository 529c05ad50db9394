"""The self-test signer and realm, and what the real distribution registry accepts from them."""
from __future__ import annotations

import base64
import re
import ssl
import urllib.error
import urllib.request

import jwt
import pytest
import requests
import trustme
from cryptography.hazmat.primitives.serialization import Encoding

from icr_infra import Registry, SelfTestRealm, TokenSigner, libtrust_key_id
from icr_infra.tokens import parse_scopes


def _v2_status(registry: Registry, token: str | None, path: str = "/v2/", cafile: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(registry.url + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # nosec - loopback only
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, (exc.headers.get("WWW-Authenticate") or "") + " " + exc.read().decode("utf-8", "replace")


def test_libtrust_key_id_shape() -> None:
    signer = TokenSigner()
    try:
        assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", signer.kid)
        assert libtrust_key_id(signer.certificate.public_key()) == signer.kid
    finally:
        signer.close()


def test_minted_token_claims_and_header() -> None:
    signer = TokenSigner(issuer="iss-x", service="svc-y")
    try:
        access = [{"type": "repository", "name": "ns/img", "actions": ["pull"]}]
        token = signer.mint(access, subject="me")
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256"
        assert base64.b64decode(header["x5c"][0]) == signer.certificate.public_bytes(Encoding.DER)
        claims = jwt.decode(token, signer.certificate.public_key(), algorithms=["RS256"], audience="svc-y", issuer="iss-x")
        assert claims["aud"] == "svc-y" and isinstance(claims["aud"], str)
        assert claims["access"] == access and claims["sub"] == "me" and claims["exp"] > claims["iat"]
        assert "kid" in jwt.get_unverified_header(signer.mint(access, key_ref="kid"))
    finally:
        signer.close()


def test_parse_scopes() -> None:
    assert parse_scopes(["repository:ns/img:pull,push", "repository:a/b:pull registry:catalog:*"]) == [
        ("repository", "ns/img", ["pull", "push"]),
        ("repository", "a/b", ["pull"]),
        ("registry", "catalog", ["*"]),
    ]
    assert not parse_scopes(["garbage", ""])


def test_realm_grants_by_policy(realm: SelfTestRealm) -> None:
    url = realm.realm_url
    scope = {"service": "registry", "scope": f"repository:{realm.namespace}/img:pull,push"}
    writer = requests.get(url, params=scope, auth=(realm.writer, realm.writer_secret), timeout=10)
    reader = requests.get(url, params=scope, auth=(realm.reader, realm.reader_secret), timeout=10)
    other_ns = requests.get(url, params={"scope": "repository:team-b/img:pull"}, auth=(realm.writer, realm.writer_secret), timeout=10)
    wrong = requests.get(url, params=scope, auth=(realm.writer, "not-the-secret"), timeout=10)
    assert writer.status_code == reader.status_code == other_ns.status_code == 200
    assert wrong.status_code == 401
    body = writer.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300 and "refresh_token" not in body

    def actions(resp: requests.Response) -> list[dict[str, object]]:
        return list(jwt.decode(resp.json()["token"], options={"verify_signature": False})["access"])

    assert actions(writer) == [{"type": "repository", "name": f"{realm.namespace}/img", "actions": ["pull", "push"]}]
    assert actions(reader) == [{"type": "repository", "name": f"{realm.namespace}/img", "actions": ["pull"]}]
    assert not actions(other_ns)
    # The password-grant POST form works too.
    posted = requests.post(url, data={"grant_type": "password", "username": realm.reader, "password": realm.reader_secret,
                                      "service": "registry", "scope": f"repository:{realm.namespace}/img:pull"}, timeout=10)
    assert posted.status_code == 200


@pytest.mark.needs_root
def test_registry_challenge(registry: Registry, realm: SelfTestRealm) -> None:
    response = requests.get(registry.url + "/v2/", timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{realm.realm_url}"' in challenge and 'service="registry"' in challenge
    assert registry.host.startswith("127.0.0.1:") and registry.port not in (0, 5000)


@pytest.mark.needs_root
def test_registry_accepts_x5c_and_kid_refuses_others(registry: Registry, realm: SelfTestRealm) -> None:
    signer = realm.signer
    assert signer is not None
    assert _v2_status(registry, signer.mint([]))[0] == 200
    assert _v2_status(registry, signer.mint([], key_ref="kid"))[0] == 200
    assert _v2_status(registry, signer.mint([], key_ref="none"))[0] == 401
    assert _v2_status(registry, signer.mint([], issuer="someone-else"))[0] == 401
    assert _v2_status(registry, signer.mint([], audience="other-service"))[0] == 401
    assert _v2_status(registry, signer.mint([], ttl=-3600))[0] == 401
    stranger = TokenSigner(issuer=signer.issuer)
    try:
        assert _v2_status(registry, stranger.mint([]))[0] == 401
    finally:
        stranger.close()
    # A valid token without the repository in its access list: insufficient_scope.
    status, body = _v2_status(registry, signer.mint([]), path=f"/v2/{realm.namespace}/nothing/tags/list")
    assert status == 401 and 'error="insufficient_scope"' in body


@pytest.mark.needs_root
def test_registry_tls(realm: SelfTestRealm) -> None:
    with Registry(realm.realm_url, realm.issuer, realm.rootcertbundle, tls=True) as reg:
        assert reg.url.startswith("https://127.0.0.1:")
        assert reg.cert_dir and reg.ca_pem_path and reg.ca_pem_path.endswith("/ca.crt")
        assert _v2_status(reg, realm.signer.mint([]), cafile=reg.ca_pem_path)[0] == 200
        wrong_ca = trustme.CA()
        with wrong_ca.cert_pem.tempfile() as wrong:
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                _v2_status(reg, None, cafile=wrong)
    assert reg.dir is None
