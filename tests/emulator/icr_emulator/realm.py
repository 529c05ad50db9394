"""ICR token realm (GET /oauth/token) and a minimal registry front (/v2/) that challenges like ICR."""
from __future__ import annotations

import http.client
import re
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

from .counters import Counters
from .directory import Directory, Lifetimes, RefreshTokens
from .fixture import Identity
from .httpio import Request, Response, json_response
from .iam import IamService
from .policies import ScopeError, allowed_actions, grant, parse_scopes
from .signing import RegistrySigner
from .variants import VariantSwitch

USERNAMES = ("iamapikey", "iambearer", "iamrefresh")
# The fourth login shape (registry_access_trusted_profiles.md): username = a trusted profile id, password = an API
# key of a service ID that the profile trusts; the token then carries the profile's access.
PROFILE_USERNAME = re.compile(r"^Profile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MSG_BAD_CREDENTIAL = "The login credentials are not valid, or your IBM Cloud account is not active."
MSG_UNSUPPORTED = ("The requested authentication method is not supported. Run the 'bx cr login' command. "
                   "To use registry tokens, use 'docker login -u token' and your registry token.")
MSG_AUTH_REQUIRED = ("Authorization required. See https://cloud.ibm.com/docs/Registry?topic=Registry-troubleshoot-auth-req")
MSG_NOT_AUTHORIZED = "You are not authorized to access the specified resource."
_V2_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)(?P<rest>/.*)?$")
_WRITE_METHODS = ("PUT", "POST", "PATCH")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "content-length", "authorization"}
INVENTED_HEADER = "X-Icr-Emulator-Invented"


@dataclass
class RealmConfig:
    """Settings of the realm."""

    issuer: str = "icr-emulator"
    service: str = "registry"
    region: str = "us-south"
    bad_credential_status: int = 400


def registry_error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None,
                   invented: bool = False) -> Response:
    """A distribution-style error body; `invented` marks an answer no IBM source shows."""
    resp = json_response(status, {"errors": [{"code": code, "message": message, "detail": None}]}, headers)
    if invented:
        resp.set_header(INVENTED_HEADER, f"{status} {code}")
    resp.note = code
    return resp


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class RegistryRealm:
    """The token realm and the /v2/ challenge of the emulated registry."""

    def __init__(self, config: RealmConfig, signer: RegistrySigner, iam: IamService, directory: Directory,
                 refresh: RefreshTokens, lifetimes: Lifetimes, counters: Counters, base_url: str,
                 variants: VariantSwitch | None = None) -> None:
        self.variants = variants or VariantSwitch({"bad_credential_status": config.bad_credential_status})
        self.upstream: str | None = None
        self._opaque: dict[str, tuple[str, float]] = {}
        self._opaque_lock = threading.Lock()
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
        if not service:
            return registry_error(400, "UNSUPPORTED", "The service parameter is required.", invented=True)
        if service != self.config.service:
            return registry_error(400, "DENIED", f"The service '{service[:80]}' is not served by this token realm.",
                                  invented=True)
        try:
            scopes = parse_scopes(req.query.get("scope", []))
        except ScopeError as exc:
            return registry_error(400, "UNSUPPORTED", str(exc), invented=True)
        user, password = creds
        if PROFILE_USERNAME.match(user):
            profile_identity = self._profile_login(user, password)
            if profile_identity is None:
                return registry_error(400, "UNAUTHORIZED", MSG_BAD_CREDENTIAL)  # "400 Bad Request" = bad pair (IBM)
            return self._issue(profile_identity, scopes)
        if user not in USERNAMES:
            return registry_error(400, "UNSUPPORTED", MSG_UNSUPPORTED)
        identity = self._authenticate(user, password)
        if identity is None:
            return self._bad_credential()
        return self._issue(identity, scopes)

    def _bad_credential(self) -> Response:
        return registry_error(self.variants.current.bad_credential_status, "UNAUTHORIZED", MSG_BAD_CREDENTIAL)

    def _authenticate(self, user: str, password: str) -> Identity | None:
        iam_id = ""
        if user == "iamapikey":
            key = self.directory.key_by_value(password)
            iam_id = key.iam_id if key is not None and key.usable else ""
        elif user == "iambearer":
            claims = self.iam.verify_access_token(password)
            iam_id = str(claims.get("iam_id", "")) if claims else ""
        elif user == "iamrefresh":
            refresh = self.refresh.get(password, self.variants.current.refresh_idle_timeout)
            iam_id = refresh.iam_id if refresh is not None and self.directory.key_usable(refresh.key_name) else ""
        return self.directory.identity(iam_id) if iam_id else None

    def _profile_login(self, profile_id: str, password: str) -> Identity | None:
        """The profile's identity if password is a usable API key of a service ID that the profile trusts."""
        profile = self.directory.fixture.profiles.get(profile_id)
        key = self.directory.key_by_value(password)
        if profile is None or key is None or not key.usable or key.iam_id not in profile.trusts:
            return None
        owner = self.directory.identity(key.iam_id)
        if owner is None or owner.kind != "serviceid":
            return None
        return self.directory.identity(profile.iam_id)

    def _issue(self, identity: Identity, scopes: list[Any]) -> Response:
        now = int(time.time())
        lifetime = self.lifetimes.registry_token_lifetime
        variants = self.variants.current
        access = grant(self.directory.fixture, identity.iam_id, scopes, self.config.region)
        if variants.denial != "scope" and _short_of(scopes, access):
            if variants.denial == "realm-403":
                return registry_error(403, "DENIED", MSG_NOT_AUTHORIZED)
            return registry_error(401, "UNAUTHORIZED", MSG_AUTH_REQUIRED)
        if variants.token_style == "opaque":
            token = secrets.token_urlsafe(48)
            with self._opaque_lock:
                if len(self._opaque) > 10000:
                    self._opaque = {t: v for t, v in self._opaque.items() if v[1] > now}
                self._opaque[token] = (identity.iam_id, now + lifetime)
        else:
            if variants.token_style == "jwt-echo":
                access = [{"type": s.type, "name": s.name, "actions": list(s.actions)} for s in scopes]
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
        """Handle /v2/ and /v2/<name>/(manifests|blobs|tags)/...: challenge, enforce IAM policy, answer or forward.

        Policy is enforced here whatever the token style: the identity behind the token must be allowed the
        actions by its policies now, and a JWT of the filtering style must also carry them in `access`.
        """
        headers = [("Docker-Distribution-API-Version", "registry/2.0")]
        holder = self._holder(req.bearer())
        if req.path in ("/v2", "/v2/"):
            if holder is None:
                return self._challenge(headers)
            return json_response(200, {}, headers)
        match = _V2_PATH.match(req.path)
        if match is None:
            return registry_error(404, "NOT_FOUND", "Not found.", headers)
        name, kind, rest = match.group("name"), match.group("kind"), match.group("rest") or ""
        needed = ("delete",) if req.method == "DELETE" else ("pull", "push") if req.method in _WRITE_METHODS else ("pull",)
        scope = f"repository:{name}:{','.join(needed)}"
        if holder is None:
            return self._challenge(headers, scope)
        iam_id, claims = holder
        allowed = allowed_actions(self.directory.fixture, iam_id, name, self.config.region)
        ok = all(a in allowed for a in needed)
        if ok and claims is not None and self.variants.current.token_style == "jwt":
            ok = all(self._has_access(claims, name, action) for action in needed)
        if not ok:
            if self.variants.current.denial == "realm-403":
                return registry_error(403, "DENIED", MSG_NOT_AUTHORIZED, headers)
            return self._challenge(headers, scope, insufficient=True)
        if self.upstream:
            return self._forward(req, name, allowed)
        uploads = kind == "blobs" and rest.startswith("/uploads")
        if uploads and req.method == "POST":
            upload = uuid.uuid4().hex
            return Response(202, b"", headers + [("Location", f"/v2/{name}/blobs/uploads/{upload}"),
                                                 ("Docker-Upload-UUID", upload), ("Range", "0-0")])
        if uploads and req.method == "DELETE":
            return Response(204, b"", headers)
        if needed != ("pull",):
            return registry_error(405, "UNSUPPORTED", "The emulator stores no images.", headers)
        code = {"manifests": "MANIFEST_UNKNOWN", "blobs": "BLOB_UNKNOWN"}.get(kind, "NAME_UNKNOWN")
        return registry_error(404, code, "The emulator stores no images.", headers)

    def _holder(self, token: str) -> tuple[str, dict[str, Any] | None] | None:
        """(iam_id, JWT claims or None for an opaque token) of a token this realm issued and that is still valid."""
        if not token:
            return None
        with self._opaque_lock:
            opaque = self._opaque.get(token)
        if opaque is not None:
            return (opaque[0], None) if opaque[1] > time.time() else None
        claims = self._verify(token)
        if claims is None or not claims.get("sub"):
            return None
        return str(claims["sub"]), claims

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

    def _forward(self, req: Request, name: str, allowed: frozenset[str]) -> Response:
        """Pass an allowed request to the real registry behind this front, with a token it trusts."""
        now = int(time.time())
        actions = sorted(allowed & {"pull", "push", "delete"})
        internal = self.signer.sign({"iss": self.config.issuer, "sub": "icr-emulator-front", "aud": self.config.service,
                                     "exp": now + 300, "nbf": now, "iat": now, "jti": uuid.uuid4().hex,
                                     "access": [{"type": "repository", "name": name, "actions": actions}]})
        target = urlsplit(self.upstream or "")
        query = urlencode([(k, v) for k, values in req.query.items() for v in values])
        path = req.path + ("?" + query if query else "")
        headers: dict[str, str] = {}
        for key, value in req.headers.items():  # a header sent several times (Accept) is joined, as RFC 9110 allows
            if key.lower() not in _HOP_BY_HOP:
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        headers["Authorization"] = "Bearer " + internal
        if target.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                target.hostname, target.port, timeout=60, context=ssl._create_unverified_context())  # noqa: S323
        else:
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            body = req.body if req.body or req.method in _WRITE_METHODS else None
            conn.request(req.method, path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            out = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
            if req.method == "HEAD" and answer.getheader("Content-Length"):
                out.append(("Content-Length", answer.getheader("Content-Length")))
            resp = Response(answer.status, data, out)
            resp.note = "forwarded"
            return resp
        except OSError as exc:
            return registry_error(502, "UNAVAILABLE", f"the registry behind the front failed: {type(exc).__name__}")
        finally:
            conn.close()

    def _challenge(self, headers: list[tuple[str, str]], scope: str = "", insufficient: bool = False) -> Response:
        realm = self.variants.current.challenge_realm or self.realm_url
        value = f'Bearer realm="{realm}", service="{self.config.service}"'
        if scope:
            value += f', scope="{scope}"'
        if insufficient:
            value += ', error="insufficient_scope"'
        if insufficient:  # distribution's answer, and ICR's documented "denied: requested access ..." (R-TS)
            return registry_error(401, "DENIED", "requested access to the resource is denied",
                                  headers + [("WWW-Authenticate", value)])
        return registry_error(401, "UNAUTHORIZED", "authentication required", headers + [("WWW-Authenticate", value)])


def _short_of(scopes: list[Any], access: list[dict[str, object]]) -> bool:
    """Whether the granted access lacks any repository action that was asked for."""
    granted = {str(a["name"]): set(a["actions"]) for a in access}  # type: ignore[arg-type]
    for scope in scopes:
        if scope.type != "repository":
            continue
        have = granted.get(scope.name, set())
        if any(action not in have for action in scope.actions):
            return True
    return False
