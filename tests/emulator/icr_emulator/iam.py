"""IBM Cloud IAM token service: POST /identity/token, GET /identity/keys, GET /v1/apikeys/details."""
from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import jwt

from .counters import Counters
from .directory import Directory, Lifetimes, RefreshGrant, RefreshTokens
from .fixture import ApiKey, Identity
from .httpio import Request, Response, json_response
from .signing import IamSigner
from .variants import VariantSwitch

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
REFRESH_GRANT = "refresh_token"
FORM_TYPE = "application/x-www-form-urlencoded"
CLIENTS = {("bx", "bx"): "bx"}
RESPONSE_TYPES = {"cloud_iam", "uaa", "delegated_refresh_token", "ims_portal"}

# Error codes, with where each comes from (README: "IAM errors"):
#   BXNIM0109E  missing/empty property; also a body sent without Content-Length (IBM's answer to a chunked body,
#               field report in issue 16; the code itself: python-sdk-core and other public clients)
#   BXNIM0106E  invalid response_type (IAM-API; public clients)
#   BXNIM0060E  method not allowed (public clients)
#   BXNIM0415E  API key not found (python-sdk-core test fixture, HTTP 400; reference 2.5)
#   BXNIM0407E  invalid or expired refresh token (bluemix-go authentication/iam.go)
#   BXNIM0137E  client id mismatch on refresh (Schematics FAQ)
# INVENTED by the emulator (no public source found; answers carry the header X-Icr-Emulator-Invented):
#   BXNIM0102E  invalid client credentials
#   BXNIM0416E  disabled API key
E_MISSING = "BXNIM0109E"
E_INVALID = "BXNIM0106E"
E_METHOD = "BXNIM0060E"
E_KEY_NOT_FOUND = "BXNIM0415E"
E_KEY_DISABLED = "BXNIM0416E"
E_REFRESH_INVALID = "BXNIM0407E"
E_CLIENT_MISMATCH = "BXNIM0137E"
E_BAD_CLIENT = "BXNIM0102E"
# INVENTED too: the codes of the keyless grants (grants.py; no public source for IBM's codes of these answers)
E_CR_INVALID = "BXNIM0440E"         # unknown, rotated-away or malformed compute resource token
E_PROFILE_NOT_FOUND = "BXNIM0441E"  # no trusted profile of that id / CRN / name
E_PROFILE_CONFLICT = "BXNIM0442E"   # the profile parameters name different profiles, or too many are given
E_NOT_TRUSTED = "BXNIM0443E"        # the caller may not use that profile (HTTP 403)
E_TOKEN_INVALID = "BXNIM0444E"      # assume: access_token not valid
INVENTED_CODES = frozenset({E_BAD_CLIENT, E_KEY_DISABLED, E_CR_INVALID, E_PROFILE_NOT_FOUND, E_PROFILE_CONFLICT,
                            E_NOT_TRUSTED, E_TOKEN_INVALID})
INVENTED_HEADER = "X-Icr-Emulator-Invented"


@dataclass
class IamError(Exception):
    """An IAM error answer."""

    status: int
    code: str
    message: str
    details: str | None = None


def _ibm_time(epoch: float) -> str:
    """IBM's context time format, e.g. 26.12.2024 17:23:26:340 UTC."""
    return time.strftime("%d.%m.%Y %H:%M:%S", time.gmtime(epoch)) + f":{int(epoch * 1000) % 1000:03d} UTC"


def error_context(req: Request, base_url: str, request_type: str = "incoming.Identity_Token") -> dict[str, str]:
    """The `context` object of IBM IAM error bodies."""
    end = time.time()
    instance = f"iamid-emulator-{os.getpid()}"
    return {
        "requestId": f"{secrets.token_hex(4)[:7]}-{uuid.uuid4().hex}",
        "requestType": request_type,
        "userAgent": req.header("User-Agent"),
        "url": base_url,
        "instanceId": instance,
        "threadId": f"{threading.get_ident() & 0xffffff:x}",
        "host": instance,
        "startTime": _ibm_time(req.started),
        "endTime": _ibm_time(end),
        "elapsedTime": str(max(0, int((end - req.started) * 1000))),
        "locale": "en_US",
        "clusterName": "iam-id-emulator",
    }


def iam_error_response(req: Request, base_url: str, err: IamError, request_type: str = "incoming.Identity_Token") -> Response:
    """IBM's IAM error body as a response."""
    body: dict[str, Any] = {"context": error_context(req, base_url, request_type), "errorCode": err.code, "errorMessage": err.message}
    if err.details:
        body["errorDetails"] = err.details
    resp = json_response(err.status, body)
    if err.code in INVENTED_CODES:
        resp.set_header(INVENTED_HEADER, err.code)
    resp.note = err.code
    return resp


def _missing(prop: str) -> IamError:
    return IamError(400, E_MISSING, "Property missing or empty.", f"Property '{prop}' either missing or empty.")


class IamService:
    """The IAM endpoints of the emulator."""

    def __init__(self, signer: IamSigner, directory: Directory, refresh: RefreshTokens, lifetimes: Lifetimes,
                 counters: Counters, base_url: str, variants: VariantSwitch | None = None) -> None:
        self.variants = variants or VariantSwitch()
        self.signer = signer
        self.directory = directory
        self.refresh = refresh
        self.lifetimes = lifetimes
        self.counters = counters
        self.base_url = base_url
        self.issuer = base_url + "/identity"
        # More grants (grant_type -> handler(form, client_id)), e.g. the keyless ones of grants.py.
        self.extra_grants: dict[str, Callable[[dict[str, str], str], Response]] = {}

    # --- /identity/token -------------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        """Handle POST /identity/token."""
        try:
            if req.method != "POST":
                raise IamError(405, E_METHOD, "Web application exception 'javax.ws.rs.ClientErrorException' during request processing.",
                               "HTTP 405 Method Not Allowed")
            return self._token(req)
        except IamError as err:
            return iam_error_response(req, self.base_url, err)

    def _token(self, req: Request) -> Response:
        if not req.header("Content-Length"):
            # IBM reads the form only from a body of known length: a chunked body is "missing" every property.
            raise IamError(400, E_MISSING, "Property missing or empty.",
                           "The request has no Content-Length header: send the form with a Content-Length.")
        form = req.form() if req.content_type() == FORM_TYPE else {}
        client_id = self._client_id(req)
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise _missing("grant_type")
        self._check_response_type(form.get("response_type", ""))
        if grant_type == APIKEY_GRANT:
            return self._apikey_grant(form, client_id)
        if grant_type == REFRESH_GRANT:
            return self._refresh_grant(form, client_id)
        extra = self.extra_grants.get(grant_type)
        if extra is not None:
            return extra(form, client_id)
        valid = "', '".join([APIKEY_GRANT, REFRESH_GRANT] + sorted(self.extra_grants))
        raise IamError(400, E_INVALID, f"Validation of property 'grant_type' with value '{grant_type[:80]}' failed. "
                       f"Valid values: '{valid}'")

    @staticmethod
    def _client_id(req: Request) -> str:
        try:
            creds = req.basic_auth()
        except ValueError as exc:
            raise IamError(400, E_BAD_CLIENT, "Invalid client credentials.", "The Authorization header is not valid Basic authentication.") from exc
        if creds is None:
            return "default"
        client = CLIENTS.get(creds)
        if client is None:
            raise IamError(400, E_BAD_CLIENT, "Invalid client credentials.", "The client id or client secret passed is not valid.")
        return client

    @staticmethod
    def _check_response_type(value: str) -> None:
        if value and not {v.strip() for v in value.split(",")} <= RESPONSE_TYPES:
            raise IamError(400, E_INVALID, f"Validation of property 'response_type' with value '{value[:80]}' failed. Valid values: 'cloud_iam'")

    def _apikey_grant(self, form: dict[str, str], client_id: str) -> Response:
        value = form.get("apikey", "")
        if not value:
            raise _missing("apikey")
        key = self.directory.key_by_value(value)
        variants = self.variants.current
        if key is None:
            details = f"The API key '{value}' could not be found." if variants.echo_error_details else None
            raise IamError(variants.bad_credential_status, E_KEY_NOT_FOUND, "Provided API key could not be found", details)
        if not key.usable:
            raise IamError(400, E_KEY_DISABLED, "Provided API key is disabled", "The API key was disabled and cannot be used to authenticate.")
        identity = self._identity_of(key.iam_id)
        now = time.time()
        refresh_token = "not_supported"
        if client_id != "default":
            grant = RefreshGrant(identity.iam_id, key.name, client_id, now + self.lifetimes.refresh_token_lifetime)
            refresh_token = self.refresh.issue(grant)
        return self._success(identity, key, APIKEY_GRANT, client_id, refresh_token, now)

    def _refresh_grant(self, form: dict[str, str], client_id: str) -> Response:
        token = form.get("refresh_token", "")
        if not token:
            raise _missing("refresh_token")
        grant = self.refresh.get(token, self.variants.current.refresh_idle_timeout)
        if grant is None or not self.directory.key_usable(grant.key_name):
            raise IamError(400, E_REFRESH_INVALID, "Provided refresh token is invalid", "The refresh token is unknown, expired or revoked.")
        if grant.client_id != client_id:
            raise IamError(400, E_CLIENT_MISMATCH, f"For the original authentication, client id '{grant.client_id}' was passed, "
                           f"refresh the token, client id '{client_id}' is used.")
        identity = self._identity_of(grant.iam_id)
        key = self.directory.key_by_name(grant.key_name)
        now = time.time()
        new_token = self.refresh.issue(RefreshGrant(grant.iam_id, grant.key_name, client_id, grant.expires_at, grant.session))
        return self._success(identity, key, REFRESH_GRANT, client_id, new_token, now)

    def _identity_of(self, iam_id: str) -> Identity:
        identity = self.directory.identity(iam_id)
        if identity is None:
            raise IamError(400, E_KEY_NOT_FOUND, "Provided API key could not be found")
        return identity

    def _success(self, identity: Identity, key: ApiKey | None, grant_type: str, client_id: str, refresh_token: str, now: float) -> Response:
        iat = int(now)
        exp = iat + self.lifetimes.access_token_lifetime
        claims = self.access_claims(identity, key, grant_type, client_id, iat, exp)
        body: dict[str, Any] = {
            "access_token": self.signer.sign(claims),
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": self.lifetimes.access_token_lifetime,
            "expiration": exp,
            "scope": "ibm openid",
        }
        if identity.kind == "user" and identity.ims_user_id is not None:
            body["ims_user_id"] = identity.ims_user_id
        self.counters.incr("iam_token_issued")
        resp = json_response(200, body)
        resp.note = "issued"
        return resp

    def access_claims(self, identity: Identity, key: ApiKey | None, grant_type: str, client_id: str, iat: int, exp: int) -> dict[str, Any]:
        """The claims of an IAM access token for identity."""
        account_id = key.account_id if key is not None else identity.account_id
        account: dict[str, Any] = {"valid": True, "bss": account_id, "frozen": False}
        claims: dict[str, Any] = {
            "iam_id": identity.iam_id, "id": identity.iam_id, "realmid": identity.realm, "jti": str(uuid.uuid4()),
            "identifier": identity.identifier, "name": identity.name, "sub": identity.sub,
        }
        if identity.kind == "user":
            claims.update({"given_name": identity.given_name, "family_name": identity.family_name, "email": identity.email})
            if identity.ims_user_id is not None:
                account.update({"ims_user_id": str(identity.ims_user_id), "ims": str(2000000 + identity.ims_user_id % 1000000)})
        else:
            claims["sub_type"] = "ServiceId" if identity.kind == "serviceid" else "Profile"
            claims["authn"] = {"sub": identity.sub, "iam_id": identity.iam_id, "sub_type": claims["sub_type"], "name": identity.name}
        claims.update({
            "account": account, "iat": iat, "exp": exp, "iss": self.issuer, "grant_type": grant_type,
            "scope": "ibm openid", "client_id": client_id, "acr": 1, "amr": ["pwd"],
        })
        return claims

    # --- /identity/keys ----------------------------------------------------------------------------
    def keys(self, req: Request) -> Response:
        """Handle GET /identity/keys (the JWKS)."""
        if req.method not in ("GET", "HEAD"):
            return iam_error_response(req, self.base_url, IamError(
                405, E_METHOD, "Web application exception 'javax.ws.rs.ClientErrorException' during request processing.",
                "HTTP 405 Method Not Allowed"), "incoming.Identity_Keys")
        return json_response(200, self.signer.jwks())

    def verify_access_token(self, token: str) -> dict[str, Any] | None:
        """Claims of a valid, unexpired access token issued by this emulator, else None."""
        try:
            return self.signer.verify(token, self.issuer)
        except jwt.PyJWTError:
            return None

    # --- /v1/apikeys/details -------------------------------------------------------------------------
    def apikey_details(self, req: Request) -> Response:
        """Handle GET /v1/apikeys/details (header IAM-ApiKey; needs an IAM Bearer token)."""
        if req.method != "GET":
            return self._identity_api_error(req, 405, "method_not_allowed", "Method not allowed.")
        if self.verify_access_token(req.bearer()) is None:
            return self._identity_api_error(req, 401, "BXNIM0308E", "No authorization header found or the token is not valid.")
        value = req.header("IAM-ApiKey")
        if not value:
            return self._identity_api_error(req, 400, E_MISSING, "Property missing or empty. Header 'IAM-ApiKey'.")
        key = self.directory.key_by_value(value)
        if key is None:
            return self._identity_api_error(req, 404, "not_found", "API key not found.")
        return json_response(200, self.apikey_record(key))

    def apikey_record(self, key: ApiKey) -> dict[str, Any]:
        """The Identity API record of an API key (without its value)."""
        return {
            "context": {"transaction_id": uuid.uuid4().hex, "operation": "GetApiKeysDetails"},
            "id": key.id, "entity_tag": "1-" + uuid.uuid5(uuid.NAMESPACE_URL, key.id).hex[:32],
            "crn": f"crn:v1:bluemix:public:iam-identity::a/{key.account_id}::apikey:{key.id}",
            "locked": key.state == "locked", "disabled": key.state == "disabled",
            "created_at": key.created_at, "created_by": key.iam_id, "modified_at": key.created_at,
            "name": key.name, "description": key.description, "iam_id": key.iam_id, "account_id": key.account_id,
            "support_sessions": False, "action_when_leaked": "none",
        }

    def _identity_api_error(self, req: Request, status: int, code: str, message: str) -> Response:
        body = {"context": error_context(req, self.base_url, "incoming.Identity_ApiKey"), "trace": uuid.uuid4().hex,
                "errors": [{"code": code, "message": message}], "status_code": status}
        resp = json_response(status, body)
        resp.note = code
        return resp
