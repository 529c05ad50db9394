"""A tiny registry-token signer and token realm for the harness's own self-tests.

The real stand-in for IAM and the ICR realm is the emulator (tests/emulator/icr_emulator); this module only exists so
that the registry, the clients and the credential files can be proven end to end without it. It mints exactly the JWT
that CNCF distribution 2.8 accepts with ``auth: token`` (see shared/reference/test-infra.md):
header ``alg`` RS256 with ``x5c`` (or the libtrust ``kid``), claims ``iss``, ``aud`` (a string), ``exp``, ``access``.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from icr_emulator.signing import libtrust_kid

from ._proc import make_tempdir, remove_tree

__all__ = ["RealmServer", "SelfTestRealm", "TokenSigner", "libtrust_key_id", "parse_scopes"]

ALL_ACTIONS = ("pull", "push")


# The docker/libtrust key id (sha256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32, 12 groups of 4): the
# emulator's own function, so that the harness and the emulator cannot disagree on it.
libtrust_key_id = libtrust_kid


def parse_scopes(values: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """``repository:ns/img:pull,push`` (several per value, space separated) → ``[(type, name, actions)]``."""
    parsed: list[tuple[str, str, list[str]]] = []
    for value in values:
        for scope in value.split():
            head, sep, actions = scope.rpartition(":")
            if not sep:
                continue
            rtype, sep, name = head.partition(":")
            if not sep or not name:
                continue
            parsed.append((rtype, name, [a for a in actions.split(",") if a]))
    return parsed


class TokenSigner:
    """An RSA key with a self-signed certificate that mints registry JWTs (self-tests only)."""

    def __init__(self, issuer: str = "icr-infra-selftest", service: str = "registry", common_name: str = "icr-infra token signer") -> None:
        self.issuer = issuer
        self.service = service
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.kid = libtrust_key_id(self._key.public_key())
        self._dir = make_tempdir("icr-signer-")
        self.rootcertbundle = os.path.join(self._dir, "token-signer.pem")
        with open(self.rootcertbundle, "wb") as handle:
            handle.write(self.certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def mint(
        self,
        access: Sequence[Mapping[str, Any]],
        *,
        subject: str = "",
        ttl: int = 300,
        key_ref: str = "x5c",
        audience: str | None = None,
        issuer: str | None = None,
    ) -> str:
        """A signed registry token. ``key_ref`` is ``x5c``, ``kid`` or ``none`` (the last one the registry refuses)."""
        now = int(time.time())
        headers: dict[str, Any] = {"typ": "JWT"}
        if key_ref == "x5c":
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            headers["x5c"] = [base64.b64encode(der).decode("ascii")]
        elif key_ref == "kid":
            headers["kid"] = self.kid
        claims = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience or self.service,
            "exp": now + ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": [dict(entry) for entry in access],
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    def close(self) -> None:
        remove_tree(self._dir)


class _User:
    def __init__(self, password: str, grants: Mapping[str, Iterable[str]]) -> None:
        self.password_digest = hashlib.sha256(password.encode("utf-8")).digest()
        self.grants = {ns: set(actions) for ns, actions in grants.items()}

    def allowed(self, repository: str) -> set[str]:
        namespace = repository.split("/", 1)[0]
        return self.grants.get(namespace, set()) | self.grants.get("*", set())


class RealmServer:
    """A minimal ``/oauth/token`` realm on 127.0.0.1 for self-tests: Basic auth → registry JWT.

    ``users`` maps a username to ``(password, {namespace: ["pull", "push"], "*": [...]})``. A wrong password gets 401.
    Anonymous requests get a token with no access (so the registry answers ``insufficient_scope``).
    """

    def __init__(self, signer: TokenSigner, users: Mapping[str, tuple[str, Mapping[str, Iterable[str]]]] | None = None) -> None:
        self.signer = signer
        self._users: dict[str, _User] = {}
        for name, (password, grants) in (users or {}).items():
            self.add_user(name, password, grants)
        self.calls: list[tuple[str, str | None, int]] = []  # (method, username or None, status)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_user(self, name: str, password: str, grants: Mapping[str, Iterable[str]]) -> None:
        self._users[name] = _User(password, grants)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("realm not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def realm_url(self) -> str:
        return f"{self.url}/oauth/token"

    def _authenticate(self, username: str | None, password: str | None) -> _User | None:
        if username is None:
            return None
        user = self._users.get(username)
        if user is None or password is None:
            raise PermissionError("unknown user or missing password")
        if not hmac.compare_digest(user.password_digest, hashlib.sha256(password.encode("utf-8")).digest()):
            raise PermissionError("wrong password")
        return user

    def _grant(self, user: _User | None, scopes: list[tuple[str, str, list[str]]]) -> list[dict[str, Any]]:
        access: list[dict[str, Any]] = []
        for rtype, name, actions in scopes:
            if rtype != "repository" or user is None:
                continue
            allowed = user.allowed(name)
            granted = [a for a in actions if a in allowed or (a == "*" and ALL_ACTIONS[1] in allowed)]
            if granted:
                access.append({"type": rtype, "name": name, "actions": granted})
        return access

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        realm = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "icr-infra-realm/1"

            def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
                return

            def _reply(self, status: int, body: Mapping[str, Any], username: str | None) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with realm._lock:  # pylint: disable=protected-access
                    realm.calls.append((self.command, username, status))

            def _basic(self) -> tuple[str | None, str | None]:
                header = self.headers.get("Authorization", "")
                if not header.lower().startswith("basic "):
                    return None, None
                try:
                    decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    return "", None
                username, _sep, password = decoded.partition(":")
                return username, password

            def _issue(self, username: str | None, password: str | None, scopes: list[tuple[str, str, list[str]]]) -> None:
                try:
                    user = realm._authenticate(username, password)  # pylint: disable=protected-access
                except PermissionError:
                    self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username/password"}]}, username)
                    return
                access = realm._grant(user, scopes)  # pylint: disable=protected-access
                token = realm.signer.mint(access, subject=username or "")
                now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                self._reply(200, {"token": token, "access_token": token, "expires_in": 300, "issued_at": now}, username)

            def do_GET(self) -> None:  # pylint: disable=invalid-name
                parsed = urllib.parse.urlsplit(self.path)
                if parsed.path != "/oauth/token":
                    self._reply(404, {"errors": [{"code": "NOT_FOUND"}]}, None)
                    return
                query = urllib.parse.parse_qs(parsed.query)
                username, password = self._basic()
                self._issue(username, password, parse_scopes(query.get("scope", [])))

            def do_POST(self) -> None:  # pylint: disable=invalid-name
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0") or "0")
                form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8"))
                if parsed.path != "/oauth/token" or form.get("grant_type", [""])[0] != "password":
                    self._reply(400, {"error": "unsupported_grant_type"}, None)
                    return
                self._issue(form.get("username", [None])[0], form.get("password", [None])[0], parse_scopes(form.get("scope", [])))

        return Handler

    def start(self) -> RealmServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="icr-infra-realm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RealmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SelfTestRealm:
    """A signer and a realm with two identities on one namespace: ``writer`` (pull+push) and ``reader`` (pull).

    Secrets are random per instance and only ever handed out as attributes (to be written to files by tests).
    """

    def __init__(self, namespace: str = "team-a", writer: str = "svc-writer", reader: str = "svc-reader") -> None:
        self.namespace = namespace
        self.writer = writer
        self.reader = reader
        self.writer_secret = secrets.token_hex(18)
        self.reader_secret = secrets.token_hex(18)
        self.signer: TokenSigner | None = None
        self.server: RealmServer | None = None

    @property
    def realm_url(self) -> str:
        assert self.server is not None
        return self.server.realm_url

    @property
    def issuer(self) -> str:
        assert self.signer is not None
        return self.signer.issuer

    @property
    def rootcertbundle(self) -> str:
        assert self.signer is not None
        return self.signer.rootcertbundle

    def start(self) -> SelfTestRealm:
        self.signer = TokenSigner()
        self.server = RealmServer(self.signer, {
            self.writer: (self.writer_secret, {self.namespace: ["pull", "push"]}),
            self.reader: (self.reader_secret, {self.namespace: ["pull"]}),
        }).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.signer is not None:
            self.signer.close()
            self.signer = None

    def __enter__(self) -> SelfTestRealm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
