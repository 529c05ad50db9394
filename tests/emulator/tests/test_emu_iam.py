"""IAM token service: grants, client rules, error bodies, access-token JWTs, JWKS, API key details."""
from __future__ import annotations

import time

import jwt
import pytest
import requests
from emu_helpers import APIKEY_GRANT, BX, apikey_login, iam_token

from icr_emulator import Emulator

CONTEXT_KEYS = {"requestId", "requestType", "userAgent", "url", "instanceId", "threadId", "host", "startTime", "endTime",
                "elapsedTime", "locale", "clusterName"}


def assert_iam_error(resp: requests.Response, status: int, code: str) -> dict:
    """The response is IBM's IAM error body with that status and code."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["errorCode"] == code
    assert isinstance(body["errorMessage"], str) and body["errorMessage"]
    assert set(body["context"]) == CONTEXT_KEYS
    assert body["context"]["requestType"] == "incoming.Identity_Token"
    return body


def verify(emu: Emulator, token: str) -> dict:
    """Verify an access token against the JWKS served at /identity/keys."""
    jwks = requests.get(emu.url + "/identity/keys", timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    return jwt.decode(token, key.key, algorithms=["RS256"], issuer=emu.url + "/identity")


def test_apikey_grant_default_client(emu: Emulator) -> None:
    resp = apikey_login(emu, "svc-reader")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "expiration", "scope"}
    assert body["refresh_token"] == "not_supported"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "ibm openid"
    assert abs(body["expiration"] - (time.time() + 3600)) < 5
    assert emu.counters()["iam_token"] == 1
    assert emu.counters()["iam_token_apikey"] == 1
    assert emu.counters()["iam_token_issued"] == 1


def test_service_id_claims(emu: Emulator) -> None:
    body = apikey_login(emu, "svc-writer").json()
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = verify(emu, body["access_token"])
    uuid_part = "decb35eb-f8c9-4156-bf6c-ff70de2da390"
    assert claims["iam_id"] == claims["id"] == f"iam-ServiceId-{uuid_part}"
    assert claims["sub"] == claims["identifier"] == f"ServiceId-{uuid_part}"
    assert claims["sub_type"] == "ServiceId"
    assert claims["realmid"] == "iam"
    assert claims["name"] == "svc-writer"
    assert claims["account"] == {"valid": True, "bss": "0399f7d0bbd61ecb2ec14cc4d51098bb", "frozen": False}
    assert claims["exp"] == claims["iat"] + 3600 == body["expiration"]
    assert claims["grant_type"] == APIKEY_GRANT
    assert claims["scope"] == "ibm openid"
    assert claims["client_id"] == "default"
    assert claims["acr"] == 1 and claims["amr"] == ["pwd"]
    assert claims["authn"]["iam_id"] == claims["iam_id"]


def test_user_claims_and_ims_user_id(emu: Emulator) -> None:
    body = apikey_login(emu, "user-admin").json()
    assert body["ims_user_id"] == 7176943
    claims = verify(emu, body["access_token"])
    assert claims["iam_id"] == "IBMid-6950003ABC"
    assert claims["realmid"] == "IBMid"
    assert claims["sub"] == claims["email"] == "user-admin@example.com"
    assert claims["account"]["bss"] == "0399f7d0bbd61ecb2ec14cc4d51098bb"
    assert claims["account"]["ims_user_id"] == "7176943"


def test_other_account_bss(emu: Emulator) -> None:
    claims = verify(emu, apikey_login(emu, "svc-other-account").json()["access_token"])
    assert claims["account"]["bss"] == "7debd775e2ed3ee17a9eff43ca8813d1"


def test_bx_client_gets_opaque_refresh_token(emu: Emulator) -> None:
    body = apikey_login(emu, "svc-reader", auth=BX).json()
    refresh = body["refresh_token"]
    assert refresh != "not_supported" and len(refresh) >= 64
    assert refresh.count(".") == 0  # opaque, not a JWT
    assert verify(emu, body["access_token"])["client_id"] == "bx"


def test_refresh_rotation(emu: Emulator) -> None:
    first = apikey_login(emu, "svc-writer", auth=BX).json()
    second = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=BX)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] not in (first["refresh_token"], "not_supported")
    claims = verify(emu, body["access_token"])
    assert claims["iam_id"] == "iam-ServiceId-decb35eb-f8c9-4156-bf6c-ff70de2da390"
    assert claims["grant_type"] == "refresh_token"
    third = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, auth=BX)
    assert third.status_code == 200
    counters = emu.counters()
    assert (counters["iam_token"], counters["iam_token_apikey"], counters["iam_token_refresh"], counters["iam_token_issued"]) == (3, 1, 2, 3)


def test_refresh_with_not_supported(emu: Emulator) -> None:
    resp = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": "not_supported"})
    assert_iam_error(resp, 400, "BXNIM0407E")


def test_refresh_unknown_token(emu: Emulator) -> None:
    resp = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": "x" * 100}, auth=BX)
    assert_iam_error(resp, 400, "BXNIM0407E")


def test_refresh_expired(emu: Emulator) -> None:
    emu.set_lifetimes(refresh_token_lifetime=0, outside_ibm_limits=True)
    refresh = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    resp = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": refresh}, auth=BX)
    assert_iam_error(resp, 400, "BXNIM0407E")


def test_refresh_client_mismatch(emu: Emulator) -> None:
    refresh = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    resp = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": refresh})
    body = assert_iam_error(resp, 400, "BXNIM0137E")
    assert body["errorMessage"] == "For the original authentication, client id 'bx' was passed, refresh the token, client id 'default' is used."


def test_refresh_after_revoke(emu: Emulator) -> None:
    refresh = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    emu.revoke("svc-reader")
    assert_iam_error(iam_token(emu, {"grant_type": "refresh_token", "refresh_token": refresh}, auth=BX), 400, "BXNIM0407E")


def test_unknown_client(emu: Emulator) -> None:
    assert_iam_error(apikey_login(emu, "svc-reader", auth=("bx", "wrong")), 400, "BXNIM0102E")
    assert_iam_error(apikey_login(emu, "svc-reader", auth=("other", "other")), 400, "BXNIM0102E")
    resp = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": emu.apikey("svc-reader")}, headers={"Authorization": "Bearer abc"})
    assert_iam_error(resp, 400, "BXNIM0102E")


def test_unknown_apikey(emu: Emulator) -> None:
    body = assert_iam_error(iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": "A" * 44}), 400, "BXNIM0415E")
    assert body["errorMessage"] == "Provided API key could not be found"
    assert body["context"]["userAgent"].startswith("python-requests")
    assert body["context"]["url"] == emu.url


def test_deleted_apikey(emu: Emulator) -> None:
    assert_iam_error(apikey_login(emu, "svc-deleted"), 400, "BXNIM0415E")


def test_revoke_at_runtime_then_reset(emu: Emulator) -> None:
    assert apikey_login(emu, "svc-writer").status_code == 200
    emu.revoke("svc-writer")
    assert_iam_error(apikey_login(emu, "svc-writer"), 400, "BXNIM0415E")
    emu.reset()
    assert apikey_login(emu, "svc-writer").status_code == 200


def test_disabled_apikey(emu: Emulator) -> None:
    body = assert_iam_error(apikey_login(emu, "svc-disabled"), 400, "BXNIM0416E")
    assert "disabled" in body["errorMessage"]


def test_locked_apikey_still_authenticates(emu: Emulator) -> None:
    """IBM's lock only protects a key from update/delete; it still logs in."""
    assert apikey_login(emu, "svc-locked").status_code == 200


@pytest.mark.parametrize("data, prop", [
    ({"apikey": "x" * 44}, "grant_type"),
    ({"grant_type": "", "apikey": "x" * 44}, "grant_type"),
    ({"grant_type": APIKEY_GRANT}, "apikey"),
    ({"grant_type": APIKEY_GRANT, "apikey": ""}, "apikey"),
    ({"grant_type": "refresh_token"}, "refresh_token"),
])
def test_missing_property(emu: Emulator, data: dict, prop: str) -> None:
    body = assert_iam_error(iam_token(emu, data), 400, "BXNIM0109E")
    assert body["errorMessage"] == "Property missing or empty."
    assert body["errorDetails"] == f"Property '{prop}' either missing or empty."


def test_unknown_grant_type(emu: Emulator) -> None:
    body = assert_iam_error(iam_token(emu, {"grant_type": "password", "username": "u", "password": "p"}), 400, "BXNIM0106E")
    assert "grant_type" in body["errorMessage"]


def test_bad_response_type(emu: Emulator) -> None:
    data = {"grant_type": APIKEY_GRANT, "apikey": emu.apikey("svc-reader"), "response_type": "bogus"}
    assert_iam_error(iam_token(emu, data), 400, "BXNIM0106E")
    data["response_type"] = "cloud_iam"
    assert iam_token(emu, data).status_code == 200


def test_wrong_content_type(emu: Emulator) -> None:
    resp = requests.post(emu.url + "/identity/token", json={"grant_type": APIKEY_GRANT, "apikey": emu.apikey("svc-reader")}, timeout=10)
    assert_iam_error(resp, 400, "BXNIM0109E")
    assert emu.counters()["iam_token"] == 1 and emu.counters()["iam_token_apikey"] == 0


def test_get_token_is_405(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/identity/token", timeout=10)
    assert_iam_error(resp, 405, "BXNIM0060E")


def test_jwks(emu: Emulator) -> None:
    jwks = requests.get(emu.url + "/identity/keys", timeout=10).json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert emu.counters()["identity_keys"] == 1


def test_forged_token_fails_jwks_verification(emu: Emulator) -> None:
    token = apikey_login(emu, "svc-reader").json()["access_token"]
    head, body, sig = token.split(".")
    forged = ".".join([head, body, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])
    with pytest.raises(jwt.InvalidSignatureError):
        verify(emu, forged)


def test_apikey_details(emu: Emulator) -> None:
    token = apikey_login(emu, "svc-reader").json()["access_token"]
    resp = requests.get(emu.url + "/v1/apikeys/details", headers={"Authorization": "Bearer " + token, "IAM-ApiKey": emu.apikey("svc-writer")},
                        timeout=10)
    assert resp.status_code == 200
    record = resp.json()
    assert record["iam_id"] == "iam-ServiceId-decb35eb-f8c9-4156-bf6c-ff70de2da390"
    assert record["account_id"] == "0399f7d0bbd61ecb2ec14cc4d51098bb"
    assert record["id"] == "ApiKey-12d3422e-fc3a-4fac-9f20-62c55c95d9ae"
    assert "apikey" not in record and emu.apikey("svc-writer") not in resp.text
    resp = requests.get(emu.url + "/v1/apikeys/details", headers={"IAM-ApiKey": emu.apikey("svc-writer")}, timeout=10)
    assert resp.status_code == 401 and resp.json()["status_code"] == 401
    resp = requests.get(emu.url + "/v1/apikeys/details", headers={"Authorization": "Bearer " + token, "IAM-ApiKey": "N" * 44}, timeout=10)
    assert resp.status_code == 404
    assert emu.counters()["apikey_details"] == 3


def test_access_token_lifetime_change(emu: Emulator) -> None:
    emu.set_lifetimes(access_token_lifetime=900)
    body = apikey_login(emu, "svc-reader").json()
    assert body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
