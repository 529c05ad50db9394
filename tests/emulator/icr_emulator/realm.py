"""ICR token realm (GET /oauth/token) and a minimal registry front (/v2/) that challenges like ICR."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from .counters import Counters
from .directory import Directory, Lifetimes, RefreshTokens
from .fixture import Identity
from .httpio import Request, Response, json_response
from .iam import IamService
from .policies import grant, parse_scopes
from .signing import RegistrySigner

USERNAMES = ("iamapikey", "iambearer", "iamrefresh")
MSG_BAD_CREDENTIAL = "The login credentials are not valid, or your IBM Cloud account is not active."
MSG_UNSUPPORTED = ("The requested authentication method is not supported. Run the 'bx cr login' command. "
                   "To use registry tokens, use 'docker login -u token' and your registry token.")
_V2_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)(?P<rest>/.*)?$")
_WRITE_METHODS = ("PUT", "POST", "PATCH")


@dataclass
class RealmConfig:
    """Settings of the realm."""

    issuer: str = "icr-emulator"
    service: str = "registry"
    region: str = "us-south"
    bad_credential_status: int = 400


def registry_error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """A distribution-style error body."""
    resp = json_response(status, {"errors": [{"code": code, "message": message, "detail": None}]}, headers)
    resp.note = code
    return resp


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class RegistryRealm:
    """The token realm and the /v2/ challenge of the emulated registry."""

    def __init__(self, config: RealmConfig, signer: RegistrySigner, iam: IamService, directory: Directory,
                 refresh: RefreshTokens, lifetimes: Lifetimes, counters: Counters, base_url: str) -> None:
        self.config = config
        self.signer = signer
        self.iam = iam
        self.directory = directory
        self.refresh = refresh
        self.lifetimes = lifetimes
        self.counters = counters
        self.realm_url = base_url + "/oauth/token"

    # --- /oauth/token ------------------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        """Handle GET /oauth/token?service=...&scope=... with Basic auth."""
        if req.method != "GET":
            return registry_error(405, "UNSUPPORTED", "The operation is unsupported.", [("Allow", "GET")])
        try:
            creds = req.basic_auth()
        except ValueError:
            return self._bad_credential()
        if creds is None:
            return registry_error(401, "UNAUTHORIZED", "Authorization required.", [("WWW-Authenticate", 'Basic realm="IBM Cloud Container Registry"')])
        service = req.arg("service")
        if service and service != self.config.service:
            return registry_error(400, "DENIED", f"The service '{service[:80]}' is not served by this token realm.")
        user, password = creds
        if user not in USERNAMES:
            return registry_error(400, "UNSUPPORTED", MSG_UNSUPPORTED)
        identity = self._authenticate(user, password)
        if identity is None:
            return self._bad_credential()
        return self._issue(identity, req.query.get("scope", []))

    def _bad_credential(self) -> Response:
        return registry_error(self.config.bad_credential_status, "UNAUTHORIZED", MSG_BAD_CREDENTIAL)

    def _authenticate(self, user: str, password: str) -> Identity | None:
        iam_id = ""
        if user == "iamapikey":
            key = self.directory.key_by_value(password)
            iam_id = key.iam_id if key is not None and key.usable else ""
        elif user == "iambearer":
            claims = self.iam.verify_access_token(password)
            iam_id = str(claims.get("iam_id", "")) if claims else ""
        elif user == "iamrefresh":
            refresh = self.refresh.get(password)
            iam_id = refresh.iam_id if refresh is not None and self.directory.key_usable(refresh.key_name) else ""
        return self.directory.identity(iam_id) if iam_id else None

    def _issue(self, identity: Identity, scope_values: list[str]) -> Response:
        now = int(time.time())
        lifetime = self.lifetimes.registry_token_lifetime
        access = grant(self.directory.fixture, identity.iam_id, parse_scopes(scope_values), self.config.region)
        claims: dict[str, Any] = {
            "iss": self.config.issuer, "sub": identity.iam_id, "aud": self.config.service,
            "exp": now + lifetime, "nbf": now, "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }
        token = self.signer.sign(claims)
        self.counters.incr("registry_token_issued")
        resp = json_response(200, {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": _rfc3339(now)})
        resp.note = "issued"
        return resp

    # --- /v2/ --------------------------------------------------------------------------------------
    def v2(self, req: Request) -> Response:
        """Handle /v2/ and /v2/<name>/(manifests|blobs|tags)/...: challenge, check the token's access."""
        headers = [("Docker-Distribution-API-Version", "registry/2.0")]
        claims = self._verify(req.bearer())
        if req.path in ("/v2", "/v2/"):
            if claims is None:
                return self._challenge(headers)
            return json_response(200, {}, headers)
        match = _V2_PATH.match(req.path)
        if match is None:
            return registry_error(404, "NOT_FOUND", "Not found.", headers)
        name, kind = match.group("name"), match.group("kind")
        needed = ("delete",) if req.method == "DELETE" else ("pull", "push") if req.method in _WRITE_METHODS else ("pull",)
        scope = f"repository:{name}:{','.join(needed)}"
        if claims is None:
            return self._challenge(headers, scope)
        if not all(self._has_access(claims, name, action) for action in needed):
            return self._challenge(headers, scope, insufficient=True)
        if needed != ("pull",):
            return registry_error(405, "UNSUPPORTED", "The emulator stores no images.", headers)
        code = {"manifests": "MANIFEST_UNKNOWN", "blobs": "BLOB_UNKNOWN"}.get(kind, "NAME_UNKNOWN")
        return registry_error(404, code, "The emulator stores no images.", headers)

    def _verify(self, token: str) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            return self.signer.verify(token, self.config.issuer, self.config.service)
        except jwt.PyJWTError:
            return None

    @staticmethod
    def _has_access(claims: dict[str, Any], name: str, action: str) -> bool:
        for entry in claims.get("access") or []:
            if isinstance(entry, dict) and entry.get("type") == "repository" and entry.get("name") == name:
                actions = entry.get("actions") or []
                if action in actions or "*" in actions:
                    return True
        return False

    def _challenge(self, headers: list[tuple[str, str]], scope: str = "", insufficient: bool = False) -> Response:
        value = f'Bearer realm="{self.realm_url}", service="{self.config.service}"'
        if scope:
            value += f', scope="{scope}"'
        if insufficient:
            value += ', error="insufficient_scope"'
        message = "insufficient scope" if insufficient else "authentication required"
        return registry_error(401, "UNAUTHORIZED", message, headers + [("WWW-Authenticate", value)])
