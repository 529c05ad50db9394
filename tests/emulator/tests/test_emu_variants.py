"""The switches for what IBM leaves open, and the rules that make the emulator no kinder than IBM."""
from __future__ import annotations

import copy
import email.utils
import json
import socket
import time

import pytest
import requests
from emu_helpers import APIKEY_GRANT, BX, apikey_login, iam_token, jwt_parts, realm_token

from icr_emulator import Emulator, FixtureError, load_fixture
from icr_emulator.fixture import DEFAULT_FIXTURE

SCOPE_PULL = "repository:team-a/app:pull"
SCOPE_PUSH = "repository:team-a/app:pull,push"
MANIFEST = "/v2/team-a/app/manifests/latest"
UPLOADS = "/v2/team-a/app/blobs/uploads/"
STYLES = ("jwt", "jwt-echo", "opaque")


def default_fixture() -> dict:
    with open(DEFAULT_FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def token_of(resp: requests.Response) -> str:
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def v2(emu: Emulator, path: str, token: str, method: str = "GET") -> requests.Response:
    return requests.request(method, emu.url + path, headers={"Authorization": "Bearer " + token}, timeout=10)


# ------------------------------------------------------------------------------------------ registry token style


def test_token_style_jwt_filters_access(emu: Emulator) -> None:
    token = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PUSH))
    assert jwt_parts(token)[1]["access"] == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]


def test_token_style_jwt_echo_echoes_the_requested_scope(emu: Emulator) -> None:
    emu.set_variants(token_style="jwt-echo")
    token = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy"), SCOPE_PUSH))
    assert jwt_parts(token)[1]["access"] == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]


def test_token_style_opaque_is_no_jwt(emu: Emulator) -> None:
    emu.set_variants(token_style="opaque")
    token = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PULL))
    assert token.count(".") != 2 and len(token) >= 40
    assert v2(emu, "/v2/", token).status_code == 200


@pytest.mark.parametrize("style", STYLES)
def test_v2_enforces_policy_in_every_token_style(emu: Emulator, style: str) -> None:
    """Whatever the token says, /v2/ answers by the identity's policies: reader pulls, may not push or read team-b."""
    emu.set_variants(token_style=style)
    reader = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PUSH, "repository:team-b/app:pull"))
    assert v2(emu, MANIFEST, reader).json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    push = v2(emu, UPLOADS, reader, "POST")
    assert push.status_code == 401 and 'error="insufficient_scope"' in push.headers["WWW-Authenticate"]
    other = v2(emu, "/v2/team-b/app/tags/list", reader)
    assert other.status_code == 401 and 'error="insufficient_scope"' in other.headers["WWW-Authenticate"]
    nobody = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy"), SCOPE_PUSH))
    assert v2(emu, MANIFEST, nobody).status_code == 401
    writer = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_PUSH))
    assert v2(emu, UPLOADS, writer, "POST").status_code == 202


def test_tags_list_tells_a_missing_repository_from_a_forbidden_one(emu: Emulator) -> None:
    reader = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), "repository:team-a/none:pull"))
    missing = v2(emu, "/v2/team-a/none/tags/list", reader)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    forbidden = v2(emu, "/v2/team-b/none/tags/list", reader)
    assert forbidden.status_code == 401


def test_push_probe_upload_session_opens_and_cancels(emu: Emulator) -> None:
    writer = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-writer"), SCOPE_PUSH))
    opened = v2(emu, UPLOADS, writer, "POST")
    assert opened.status_code == 202 and opened.headers["Docker-Upload-UUID"]
    # As in distribution, DELETE (a cancel too) needs the delete action in the token.
    assert v2(emu, opened.headers["Location"], writer, "DELETE").status_code == 401
    full = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-writer"), "repository:team-a/app:pull,push,delete"))
    assert v2(emu, opened.headers["Location"], full, "DELETE").status_code == 204


# ------------------------------------------------------------------------------------------ where access is denied


def test_denial_scope_gives_a_token_then_insufficient_scope(emu: Emulator) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy"), SCOPE_PULL)
    assert resp.status_code == 200 and jwt_parts(resp.json()["token"])[1]["access"] == []
    challenge = v2(emu, MANIFEST, resp.json()["token"]).headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge


def test_denial_realm_401_looks_like_a_bad_credential(emu: Emulator) -> None:
    emu.set_variants(denial="realm-401", bad_credential_status=401)
    denied = realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy"), SCOPE_PULL)
    wrong = realm_token(emu, "iamapikey", "W" * 44, SCOPE_PULL)
    assert denied.status_code == 401 and wrong.status_code == 401
    assert denied.json()["errors"][0]["code"] == "UNAUTHORIZED"
    # Without a scope, or with one it may have, the same key gets its token.
    assert realm_token(emu, "iamapikey", emu.apikey("svc-nopolicy")).status_code == 200
    assert realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PULL).status_code == 200
    assert realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PUSH).status_code == 401


def test_denial_realm_403_denied_at_the_realm_and_at_v2(emu: Emulator) -> None:
    emu.set_variants(denial="realm-403")
    denied = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PUSH)
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "DENIED"
    reader = token_of(realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE_PULL))
    refused = v2(emu, UPLOADS, reader, "POST")
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "DENIED"


# ------------------------------------------------------------------------------------------ bad credentials


@pytest.mark.parametrize("status", [400, 401])
def test_bad_credential_status_at_the_realm_and_iam(emu: Emulator, status: int) -> None:
    emu.set_variants(bad_credential_status=status)
    assert realm_token(emu, "iamapikey", "W" * 44, SCOPE_PULL).status_code == status
    resp = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": "W" * 44})
    assert resp.status_code == status and resp.json()["errorCode"] == "BXNIM0415E"


def test_error_details_echo_the_submitted_key(emu: Emulator) -> None:
    key = "EchoMeEchoMeEchoMeEchoMeEchoMeEchoMeEchoMe_1"
    assert "errorDetails" not in iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key}).json()
    emu.set_variants(echo_error_details=True)
    body = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key}).json()
    assert body["errorCode"] == "BXNIM0415E" and key in body["errorDetails"]


def test_invented_codes_are_marked(emu: Emulator) -> None:
    disabled = apikey_login(emu, "svc-disabled")
    assert disabled.headers["X-Icr-Emulator-Invented"] == "BXNIM0416E"
    bad_client = apikey_login(emu, "svc-reader", auth=("bx", "wrong"))
    assert bad_client.headers["X-Icr-Emulator-Invented"] == "BXNIM0102E"
    documented = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": "W" * 44})
    assert "X-Icr-Emulator-Invented" not in documented.headers


# ------------------------------------------------------------------------------------------ Retry-After forms


@pytest.mark.parametrize("form,retry_after,check", [
    ("seconds", 2, lambda v: v == "2"),
    ("seconds", 1.5, lambda v: v == "1.5"),
    ("http-date", 3, lambda v: abs(email.utils.parsedate_to_datetime(v).timestamp() - time.time() - 3) < 3),
    ("malformed", 1, lambda v: not v.strip().replace(".", "").isdigit() and email.utils.parsedate_tz(v) is None),
])
def test_retry_after_forms(emu: Emulator, form: str, retry_after: float, check) -> None:
    emu.inject_fault("iam_token", status=429, retry_after=retry_after, retry_after_form=form)
    resp = apikey_login(emu, "svc-reader")
    assert resp.status_code == 429 and check(resp.headers["Retry-After"]), resp.headers["Retry-After"]


def test_retry_after_form_needs_a_value(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.inject_fault("iam_token", status=429, retry_after_form="http-date")
    with pytest.raises(ValueError):
        emu.inject_fault("iam_token", status=429, retry_after=1, retry_after_form="never")


# ------------------------------------------------------------------------------------------ IAM sessions and lifetimes


def test_refresh_token_idle_expiry(emu: Emulator) -> None:
    emu.set_variants(refresh_idle_timeout=1)
    first = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    used = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": first}, auth=BX)
    assert used.status_code == 200
    time.sleep(1.3)
    idle = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": used.json()["refresh_token"]}, auth=BX)
    assert idle.status_code == 400 and idle.json()["errorCode"] == "BXNIM0407E"
    assert realm_token(emu, "iamrefresh", first, SCOPE_PULL).status_code == 400


def test_refresh_token_use_keeps_the_session_alive(emu: Emulator) -> None:
    emu.set_variants(refresh_idle_timeout=2)
    token = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    for _round in range(3):
        time.sleep(0.8)
        assert realm_token(emu, "iamrefresh", token, SCOPE_PULL).status_code == 200


def test_admin_ends_sessions(emu: Emulator) -> None:
    reader = apikey_login(emu, "svc-reader", auth=BX).json()["refresh_token"]
    writer = apikey_login(emu, "svc-writer", auth=BX).json()["refresh_token"]
    assert emu.end_sessions("svc-reader") >= 1  # this session, and any an earlier test left
    assert iam_token(emu, {"grant_type": "refresh_token", "refresh_token": reader}, auth=BX).json()["errorCode"] == "BXNIM0407E"
    assert realm_token(emu, "iamrefresh", reader, SCOPE_PULL).status_code == 400
    assert iam_token(emu, {"grant_type": "refresh_token", "refresh_token": writer}, auth=BX).status_code == 200
    resp = requests.post(emu.url + "/_emulator/end-sessions", json={}, timeout=10)
    assert resp.json()["ended"] >= 1
    assert iam_token(emu, {"grant_type": "refresh_token", "refresh_token": writer}, auth=BX).status_code == 400


@pytest.mark.parametrize("values", [{"access_token_lifetime": 899}, {"access_token_lifetime": 3601},
                                    {"refresh_token_lifetime": 899}, {"refresh_token_lifetime": 259201}])
def test_lifetimes_are_held_to_ibms_limits(emu: Emulator, values: dict) -> None:
    with pytest.raises(ValueError, match="IBM"):
        emu.set_lifetimes(**values)
    assert requests.post(emu.url + "/_emulator/lifetimes", json=values, timeout=10).status_code == 400
    emu.set_lifetimes(outside_ibm_limits=True, **values)
    with pytest.raises(ValueError):
        Emulator(**values)


def test_lifetime_limits_allow_ibms_range(emu: Emulator) -> None:
    emu.set_lifetimes(access_token_lifetime=900, refresh_token_lifetime=900)
    body = apikey_login(emu, "svc-reader").json()
    assert body["expires_in"] == 900


# ------------------------------------------------------------------------------------------ policies


def test_geography_global_is_honoured(state_dir: str) -> None:
    data = default_fixture()
    writer = "iam-ServiceId-0afcb5b8-d557-4c38-8d7c-f0aa14d332f3"  # svc-nopolicy gets a global-only Writer policy
    data["policies"].append({"id": "global-writer", "type": "access",
                             "subjects": [{"attributes": [{"name": "iam_id", "value": writer}]}],
                             "roles": [{"role_id": "crn:v1:bluemix:public:container-registry::::serviceRole:Writer"}],
                             "resources": [{"attributes": [{"name": "accountId", "value": "0399f7d0bbd61ecb2ec14cc4d51098bb"},
                                                           {"name": "serviceName", "value": "container-registry"},
                                                           {"name": "geography", "value": "global"}]}]})
    with Emulator(fixture=data, state_dir=state_dir) as regional:
        resp = realm_token(regional, "iamapikey", regional.apikey("svc-nopolicy"), SCOPE_PUSH)
        assert jwt_parts(token_of(resp))[1]["access"] == []
    with Emulator(fixture=data, state_dir=state_dir, region="global") as global_registry:
        resp = realm_token(global_registry, "iamapikey", global_registry.apikey("svc-nopolicy"), SCOPE_PUSH)
        assert jwt_parts(token_of(resp))[1]["access"] == [{"type": "repository", "name": "team-a/app", "actions": ["pull", "push"]}]


@pytest.mark.parametrize("attribute", ["serviceType", "regionName", "namespace"])
def test_unknown_policy_attributes_are_refused(attribute: str) -> None:
    data = default_fixture()
    data["policies"][1]["resource"][attribute] = "x"
    with pytest.raises(FixtureError, match="unknown resource attribute"):
        load_fixture(data)


def test_geography_other_than_global_is_refused() -> None:
    data = default_fixture()
    data["policies"][1]["resource"]["geography"] = "us-south"
    with pytest.raises(FixtureError, match="geography"):
        load_fixture(data)


def test_namespaces_belong_to_one_account(emu: Emulator, state_dir: str) -> None:
    # user-admin is Manager on all of account a1: a1's namespaces only, not a2's, not one nobody owns.
    resp = realm_token(emu, "iamapikey", emu.apikey("user-admin"), "repository:team-b/x:pull", "repository:nobody/x:pull",
                       "repository:demo/x:pull")
    assert jwt_parts(token_of(resp))[1]["access"] == [{"type": "repository", "name": "demo/x", "actions": ["pull"]}]
    # A policy of account a2 naming a1's namespace reaches nothing.
    data = default_fixture()
    data["policies"][-1]["resource"]["resource"] = "team-a"
    with Emulator(fixture=data, state_dir=state_dir) as other:
        resp = realm_token(other, "iamapikey", other.apikey("svc-other-account"), SCOPE_PULL)
        assert jwt_parts(token_of(resp))[1]["access"] == []


# ------------------------------------------------------------------------------------------ realm request checks


def test_service_is_required_and_checked(emu: Emulator) -> None:
    resp = requests.get(emu.url + "/oauth/token", params={"scope": SCOPE_PULL}, auth=("iamapikey", emu.apikey("svc-reader")), timeout=10)
    assert resp.status_code == 400 and resp.headers["X-Icr-Emulator-Invented"]
    resp = requests.get(emu.url + "/oauth/token", params={"service": "other", "scope": SCOPE_PULL},
                        auth=("iamapikey", emu.apikey("svc-reader")), timeout=10)
    assert resp.status_code == 400


@pytest.mark.parametrize("scope", ["repository:team-a/app", "repository::pull", "team-a/app:pull", "repository:Team-A/app:pull",
                                   "repository:team-a/app:pull,fly", "repository:team-a/app:"])
def test_malformed_scopes_are_refused(emu: Emulator, scope: str) -> None:
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), scope)
    assert resp.status_code == 400, resp.text


def test_iam_refuses_a_body_without_content_length(emu: Emulator) -> None:
    """A chunked form (no Content-Length) is refused with BXNIM0109E, as IBM does."""
    def chunks():
        yield ("grant_type=%s&apikey=%s" % (APIKEY_GRANT, emu.apikey("svc-reader"))).encode()
    resp = requests.post(emu.url + "/identity/token", data=chunks(), timeout=10,
                         headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status_code == 400 and resp.json()["errorCode"] == "BXNIM0109E"
    assert apikey_login(emu, "svc-reader").status_code == 200


# ------------------------------------------------------------------------------------------ realm on another origin


def test_challenge_can_name_a_realm_on_another_origin(emu: Emulator) -> None:
    other = emu.add_origin()
    assert other != emu.url and other.startswith("http://127.0.0.1:")
    emu.set_variants(challenge_realm=other + "/oauth/token")
    challenge = requests.get(emu.url + "/v2/", timeout=10).headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{other}/oauth/token"')
    token = token_of(requests.get(other + "/oauth/token", params={"service": "registry", "scope": SCOPE_PULL},
                                  auth=("iamapikey", emu.apikey("svc-reader")), timeout=10))
    assert v2(emu, MANIFEST, token).status_code == 404
    emu.reset()
    assert f'realm="{emu.url}/oauth/token"' in requests.get(emu.url + "/v2/", timeout=10).headers["WWW-Authenticate"]


def test_challenge_realm_can_be_any_url(emu: Emulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    emu.set_variants(challenge_realm=f"http://127.0.0.2:{port}/collect")
    assert f'realm="http://127.0.0.2:{port}/collect"' in requests.get(emu.url + "/v2/", timeout=10).headers["WWW-Authenticate"]


# ------------------------------------------------------------------------------------------ the switches themselves


def test_variants_over_http_and_reset(emu: Emulator) -> None:
    base = emu.url + "/_emulator/variants"
    assert requests.get(base, timeout=10).json()["token_style"] == "jwt"
    changed = requests.post(base, json={"token_style": "opaque", "denial": "realm-403"}, timeout=10).json()
    assert changed["token_style"] == "opaque" and changed["denial"] == "realm-403"
    for bad in ({"token_style": "xml"}, {"denial": "maybe"}, {"bad_credential_status": 418}, {"nonsense": 1},
                {"refresh_idle_timeout": -1}, {"challenge_realm": "ftp://x"}):
        assert requests.post(base, json=bad, timeout=10).status_code == 400, bad
    assert requests.get(base, timeout=10).json()["token_style"] == "opaque"
    emu.reset()
    assert requests.get(base, timeout=10).json() == emu.info()["variants"]
    assert emu.info()["variants"]["token_style"] == "jwt"


def test_constructor_defaults_survive_reset(state_dir: str) -> None:
    with Emulator(state_dir=state_dir, variants={"token_style": "opaque"}, bad_credential_status=401) as emu:
        emu.set_variants(token_style="jwt", bad_credential_status=400)
        emu.reset()
        assert emu.info()["variants"]["token_style"] == "opaque"
        assert emu.info()["variants"]["bad_credential_status"] == 401
    with pytest.raises(ValueError):
        Emulator(variants={"token_style": "xml"})


def test_fixture_dict_is_not_changed_by_loading() -> None:
    data = default_fixture()
    before = copy.deepcopy(data)
    load_fixture(data)
    assert data == before


def test_another_origin_can_serve_https(emu: Emulator, tmp_path) -> None:
    """A TLS origin next to a plain one: a registry on one scheme can name a realm on the other."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    secure = emu.add_origin(tls_cert=str(tmp_path / "cert.pem"), tls_key=str(tmp_path / "key.pem"))
    assert secure.startswith("https://127.0.0.1:")
    resp = requests.get(secure + "/oauth/token", params={"service": "registry", "scope": SCOPE_PULL},
                        auth=("iamapikey", emu.apikey("svc-reader")), timeout=10, verify=str(tmp_path / "ca.pem"))
    assert resp.status_code == 200 and resp.json()["token"]
