"""The Emulator: wires fixture, signers, IAM, realm, faults and counters to an HTTP(S) server."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from typing import Any, Callable, TextIO

from .counters import Counters
from .directory import Directory, Lifetimes, RefreshTokens
from .faults import FAULT_ENDPOINTS, Fault, FaultQueue, fault_from_json, make_fault
from .fixture import FixtureSource, load_fixture
from .httpio import Request, Response, json_response
from .iam import APIKEY_GRANT, FORM_TYPE, REFRESH_GRANT, IamError, IamService, iam_error_response
from .realm import PROFILE_USERNAME, USERNAMES, RealmConfig, RegistryRealm, registry_error
from .identity_api import IdentityApi
from .management import MANAGEMENT_ENDPOINTS, ApiError, identity_error, policy_error
from .policy_api import PolicyApi
from .server import EmulatorHTTPServer
from .signing import IamSigner, RegistrySigner
from .variants import VariantSwitch
# --- keyless identity (metadata service, cr-token/assume grants, trusted profiles) ---
from .grants import ASSUME_GRANT, CR_GRANT, KeylessGrants
from .keyless import KeylessState
from .metadata import MetadataService, metadata_error

_REGISTRY_FAULT_CODES = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND", 429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}
_MALFORMED = b"<html><head><title>Bad Gateway</title></head><body>upstream answered garbage</body></html>"
Handler = Callable[[Request], Response]


def _retry_after(value: float, form: str = "seconds") -> str:
    if form == "http-date":
        return formatdate(time.time() + value, usegmt=True)
    if form == "malformed":
        return "soon, give or take"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Emulator:
    """A local IBM Cloud IAM + ICR token realm. Use start()/stop() or a with block."""

    def __init__(self, fixture: FixtureSource = None, host: str = "127.0.0.1", port: int = 0,
                 tls_cert: str | None = None, tls_key: str | None = None, registry_issuer: str = "icr-emulator",
                 registry_service: str = "registry", region: str = "us-south", access_token_lifetime: int = 3600,
                 refresh_token_lifetime: int = 259200, registry_token_lifetime: int = 300, state_dir: str | None = None,
                 bad_credential_status: int = 400, log_stream: TextIO | None = None,
                 variants: dict[str, Any] | None = None, registry_upstream: str | None = None) -> None:
        self.fixture = load_fixture(fixture)
        self.variants = VariantSwitch(dict({"bad_credential_status": bad_credential_status}, **(variants or {})))
        self.registry_upstream = registry_upstream
        self._origins: list[tuple[EmulatorHTTPServer, threading.Thread]] = []
        self.host = host
        self.port = port
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.realm_config = RealmConfig(registry_issuer, registry_service, region, bad_credential_status)
        self.lifetimes = Lifetimes()
        self.lifetimes.update(access_token_lifetime=access_token_lifetime, refresh_token_lifetime=refresh_token_lifetime,
                              registry_token_lifetime=registry_token_lifetime)
        self.state_dir = state_dir
        self.log_stream = log_stream
        self._counters = Counters()
        self.faults = FaultQueue()
        self.directory = Directory(self.fixture)
        self.refresh_tokens = RefreshTokens()
        self.keyless = KeylessState(self.fixture)
        self.metadata: MetadataService | None = None
        self._own_state_dir = False
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()
        self.url = ""
        self.iam: IamService | None = None
        self.realm: RegistryRealm | None = None
        self.registry_signer: RegistrySigner | None = None
        self.identity_api: IdentityApi | None = None
        self.policy_api: PolicyApi | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Emulator:
        """Create keys, bind, serve in a background thread; return self."""
        if self._server is not None:
            return self
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="icr-emulator-")
            self._own_state_dir = True
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        iam_signer = IamSigner(self.state_dir)
        self.registry_signer = RegistrySigner(self.state_dir)
        self._server = EmulatorHTTPServer((self.host, self.port), self.dispatch, self._log if self.log_stream else None, self._ssl_context())
        self.port = self._server.server_address[1]
        scheme = "https" if self.tls_cert else "http"
        self.url = f"{scheme}://{self.host}:{self.port}"
        self.iam = IamService(iam_signer, self.directory, self.refresh_tokens, self.lifetimes, self._counters, self.url,
                              self.variants)
        self.realm = RegistryRealm(self.realm_config, self.registry_signer, self.iam, self.directory, self.refresh_tokens,
                                   self.lifetimes, self._counters, self.url, self.variants)
        self.realm.upstream = self.registry_upstream
        # --- keyless identity ---
        self.metadata = MetadataService(self.iam, self.keyless)
        KeylessGrants(self.iam, self.keyless).install()
        self._start_management()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"icr-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls_cert:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls_cert, self.tls_key)
        return context

    def stop(self) -> None:
        """Stop serving and remove a temporary state directory."""
        for server, thread in self._origins:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._origins = []
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_state_dir and self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None
            self._own_state_dir = False

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- public API --------------------------------------------------------------------------------
    @property
    def registry_cert_path(self) -> str:
        """PEM of the certificate whose key signs registry tokens (the registry's rootcertbundle)."""
        if self.registry_signer is None:
            raise RuntimeError("the emulator is not started")
        return self.registry_signer.cert_path

    @property
    def iam_issuer(self) -> str:
        """The `iss` of IAM access tokens."""
        return self.url + "/identity"

    def apikey(self, name: str) -> str:
        """The secret value of the fixture API key of that name."""
        key = self.directory.key_by_name(name)
        if key is None:
            raise KeyError(f"no API key named {name!r} in the fixture")
        return key.value

    def counters(self) -> dict[str, int]:
        """A snapshot of the request counters."""
        return self._counters.snapshot()

    def reset(self) -> None:
        """Zero the counters, drop pending faults, restore keys from the fixture and the variants' defaults."""
        self._counters.reset()
        self.faults.clear()
        self.directory.reload()
        self.variants.reset()
        self.keyless.reset()
        self._reset_management()

    def _variants_dict(self) -> dict[str, Any]:
        return self.variants.current.as_dict()

    def set_variants(self, **values: Any) -> dict[str, Any]:
        """Change switches (see variants.py and README "Variants"); returns them all."""
        return self.variants.update(**values).as_dict()

    def end_sessions(self, name: str | None = None) -> int:
        """End IAM sessions as an administrator would: every refresh token of key `name`'s identity (all if None)."""
        iam_id = None
        if name is not None:
            key = self.directory.key_by_name(name)
            if key is None:
                raise KeyError(f"no API key named {name!r} in the fixture")
            iam_id = key.iam_id
        return self.refresh_tokens.end_sessions(iam_id)

    def set_upstream(self, url: str | None) -> None:
        """Forward allowed /v2/ requests to a real registry at url (None: answer them here)."""
        self.registry_upstream = url
        if self.realm is not None:
            self.realm.upstream = url

    def add_origin(self, host: str | None = None, tls_cert: str | None = None, tls_key: str | None = None) -> str:
        """Serve this same emulator on one more listener (another origin; https with a certificate); its URL."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        context = None
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
        bind = host or self.host
        server = EmulatorHTTPServer((bind, 0), self.dispatch, self._log if self.log_stream else None, context)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                                  name=f"icr-emulator-origin-{server.server_address[1]}")
        thread.start()
        self._origins.append((server, thread))
        return f"{'https' if tls_cert else 'http'}://{bind}:{server.server_address[1]}"

    def inject_fault(self, endpoint: str, status: int | None = None, count: int = 1, retry_after: float | None = None,
                     delay: float | None = None, body: str | None = None, retry_after_form: str = "seconds") -> None:
        """Make the next `count` requests to endpoint fail as described."""
        self.faults.add(make_fault(endpoint, status, count, retry_after, delay, body, retry_after_form))

    def revoke(self, name: str) -> None:
        """Delete a fixture API key at runtime (IAM then answers BXNIM0415E)."""
        if not self.directory.revoke(name):
            raise KeyError(f"no API key named {name!r} in the fixture")

    def set_lifetimes(self, access_token_lifetime: int | None = None, refresh_token_lifetime: int | None = None,
                      registry_token_lifetime: int | None = None, outside_ibm_limits: bool = False) -> None:
        """Change token lifetimes (seconds) for tokens issued from now on.

        IAM lifetimes are held to IBM's ranges (access 900-3600, refresh 900-259200) unless outside_ibm_limits.
        """
        self.lifetimes.update(outside_ibm_limits=outside_ibm_limits, access_token_lifetime=access_token_lifetime,
                              refresh_token_lifetime=refresh_token_lifetime, registry_token_lifetime=registry_token_lifetime)

    # --- keyless identity: metadata service, compute resources ------------------------------------------
    @property
    def metadata_url(self) -> str:
        """Base URL of the VPC instance metadata service (the emulator's own origin)."""
        return self.url

    def set_instance(self, name: str) -> None:
        """Make the metadata service act as the fixture instance of that name (KeyError if none)."""
        self.keyless.set_instance(name)

    def instance(self) -> dict[str, Any]:
        """The instance the metadata service acts as: name, id, crn, default profile, linked profiles."""
        current = self.keyless.current_instance()
        if current is None:
            return {}
        return {"name": current.name, "id": current.id, "crn": current.crn, "default_profile": current.default_profile,
                "profiles": list(current.profiles)}

    def cr_token(self, name: str) -> str:
        """The current cr token value of the fixture compute resource of that name (KeyError if none)."""
        return self.keyless.cr_token(name)

    def rotate_cr_token(self, name: str) -> str:
        """Give a compute resource a new cr token (the old one stops working at once); the new value."""
        return self.keyless.rotate_cr_token(name)

    def info(self) -> dict[str, Any]:
        """Facts other processes need: URLs, issuer, service, region, certificate path."""
        return {
            "url": self.url, "pid": os.getpid(), "iam_issuer": self.iam_issuer, "realm": self.url + "/oauth/token",
            "registry_issuer": self.realm_config.issuer, "registry_service": self.realm_config.service,
            "region": self.realm_config.region, "registry_cert": self.registry_cert_path,
            "variants": self.variants.current.as_dict(), "registry_upstream": self.registry_upstream,
            "registry_kid": self.registry_signer.kid if self.registry_signer else "",
            "metadata_url": self.url, "instance": self.instance(),
        }

    # --- dispatch ----------------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        """Route one request."""
        if req.path.startswith("/_emulator/"):
            return self._admin(req)
        endpoint, handler, extra = self._route(req)
        if endpoint is None:
            self._counters.incr("not_found")
            return json_response(404, {"errors": [{"code": "NOT_FOUND", "message": "Not found."}]})
        self._counters.incr(endpoint, *extra)
        fault = self.faults.take(endpoint) if endpoint in FAULT_ENDPOINTS else None
        if fault is None:
            return handler(req)
        self._counters.incr("faults_served")
        return self._apply_fault(fault, handler, req)

    def _route(self, req: Request) -> tuple[str | None, Handler, tuple[str, ...]]:
        if self.iam is None or self.realm is None:
            raise RuntimeError("the emulator is not started")
        path = req.path
        if path == "/identity/token":
            return "iam_token", self.iam.token, self._grant_counter(req)
        if path == "/identity/keys":
            return "identity_keys", self.iam.keys, ()
        if path == "/v1/apikeys/details":
            return "apikey_details", self.identity_api.apikey_details if self.identity_api else self.iam.apikey_details, ()
        managed = self._management_route(path)
        if managed is not None:
            return managed
        if path == "/oauth/token":
            return "registry_token", self.realm.token, self._username_counter(req)
        if path == "/v2" or path.startswith("/v2/"):
            return "registry_v2", self.realm.v2, ()
        # --- keyless identity: VPC instance metadata service (metadata.py) ---
        metadata_endpoint = MetadataService.endpoint_of(path)
        if metadata_endpoint is not None and self.metadata is not None:
            return metadata_endpoint, self.metadata.handle, ()
        return None, self.realm.v2, ()

    @staticmethod
    def _grant_counter(req: Request) -> tuple[str, ...]:
        if req.method != "POST" or req.content_type() != FORM_TYPE:
            return ()
        grant_type = req.form().get("grant_type", "")
        return {APIKEY_GRANT: ("iam_token_apikey",), REFRESH_GRANT: ("iam_token_refresh",),
                CR_GRANT: ("iam_token_cr",), ASSUME_GRANT: ("iam_token_assume",)}.get(grant_type, ())

    @staticmethod
    def _username_counter(req: Request) -> tuple[str, ...]:
        try:
            creds = req.basic_auth()
        except ValueError:
            return ()
        if creds and PROFILE_USERNAME.match(creds[0]):
            return ("registry_token_profile",)
        return (f"registry_token_{creds[0]}",) if creds and creds[0] in USERNAMES else ()

    def _apply_fault(self, fault: Fault, handler: Handler, req: Request) -> Response:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.body == "truncated":
            resp = handler(req)
            resp.body = resp.body[:len(resp.body) // 2]
            resp.status = fault.status or resp.status
        elif fault.body == "malformed":
            resp = Response(fault.status or 200, _MALFORMED, [("Content-Type", "text/html")])
        elif fault.body == "empty":
            resp = Response(fault.status or 200, b"", [("Content-Type", "application/json")])
        elif fault.status is not None:
            resp = self._fault_error(fault.endpoint, fault.status, req)
        else:
            resp = handler(req)
        if fault.retry_after is not None:
            resp.set_header("Retry-After", _retry_after(fault.retry_after, fault.retry_after_form))
        resp.note = f"fault({fault.status or ''}{',' + fault.body if fault.body else ''}{',delay' if fault.delay else ''})"
        return resp

    def _fault_error(self, endpoint: str, status: int, req: Request) -> Response:
        reason = f"Injected fault: HTTP {status}"
        if endpoint in MANAGEMENT_ENDPOINTS:
            err = ApiError(status, "EMULATOR_FAULT", reason, invented=False)
            return policy_error(err) if endpoint == "policies" else identity_error(req, self.url, err)
        if endpoint in ("iam_token", "identity_keys"):
            request_type = "incoming.Identity_Token" if endpoint == "iam_token" else "incoming.Identity_Keys"
            return iam_error_response(req, self.url, IamError(status, "EMULATOR_FAULT", reason), request_type)
        if endpoint.startswith("metadata_"):
            return metadata_error(status, "emulator_fault", reason)
        return registry_error(status, _REGISTRY_FAULT_CODES.get(status, "UNKNOWN"), reason)

    # --- admin -------------------------------------------------------------------------------------
    def _admin(self, req: Request) -> Response:
        name = req.path[len("/_emulator/"):].strip("/")
        try:
            data = json.loads(req.body.decode("utf-8")) if req.body else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return self._admin_action(name, req.method, data)
        except KeyError as exc:
            return json_response(404, {"error": str(exc.args[0]) if exc.args else "not found"})
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})

    def _admin_action(self, name: str, method: str, data: dict[str, Any]) -> Response:
        managed = self._management_admin(name, method, data)
        if managed is not None:
            return managed
        reads = {"health": lambda: {"status": "ok", "url": self.url, "pid": os.getpid()}, "counters": self.counters,
                 "info": self.info, "faults": lambda: {"pending": self.faults.pending()}, "lifetimes": lambda: vars(self.lifetimes).copy(),
                 "variants": self._variants_dict}
        if method == "GET" and name in reads:
            return json_response(200, reads[name]())
        if method == "POST" and name == "reset":
            self.reset()
        elif method == "POST" and name == "faults":
            self.faults.add(fault_from_json(data))
            return json_response(200, {"pending": self.faults.pending()})
        elif method == "DELETE" and name == "faults":
            self.faults.clear()
        elif method == "POST" and name == "revoke":
            self.revoke(str(data.get("name", "")))
        elif method == "POST" and name == "lifetimes":
            self.lifetimes.update(**data)
            return json_response(200, vars(self.lifetimes).copy())
        elif method == "POST" and name == "variants":
            return json_response(200, self.set_variants(**data))
        elif method == "POST" and name == "end-sessions":
            return json_response(200, {"ended": self.end_sessions(data.get("name"))})
        elif method == "POST" and name == "upstream":
            self.set_upstream(data.get("url"))
        # --- keyless identity ---
        elif method == "GET" and name == "instance":
            return json_response(200, self.instance())
        elif method == "POST" and name == "instance":
            self.set_instance(str(data.get("name", "")))
            return json_response(200, self.instance())
        elif method == "POST" and name == "rotate-cr-token":
            return json_response(200, {"cr_token": self.rotate_cr_token(str(data.get("name", "")))})
        else:
            return json_response(404, {"error": f"no admin action {method} /_emulator/{name}"})
        return json_response(200, {"ok": True})

    # --- IAM Identity and Policy Management APIs (identity_api.py, policy_api.py) -------------------
    def _start_management(self) -> None:
        assert self.iam is not None
        self.policy_api = PolicyApi(self.directory, self.fixture, self.iam.verify_access_token, self.url)
        self.identity_api = IdentityApi(self.directory, self.fixture, self.iam.verify_access_token, self.url,
                                        self.policy_api.remove_subject)
        self.policy_api.locked_service_id = self.identity_api.service_id_locked

    def _reset_management(self) -> None:
        if self.identity_api is None or self.policy_api is None:
            return
        self.directory.restore_fixture(self.fixture)
        self.identity_api.reset()
        self.policy_api.reset()
        self.policy_api.set_consistency_delay(0)

    def _management_route(self, path: str) -> tuple[str, Handler, tuple[str, ...]] | None:
        if self.identity_api is None or self.policy_api is None:
            return None
        if path == "/v1/serviceids" or path.startswith("/v1/serviceids/"):
            return "identity_serviceids", self.identity_api.handle_serviceids, ()
        if path == "/v1/apikeys" or path.startswith("/v1/apikeys/"):
            return "identity_apikeys", self.identity_api.handle_apikeys, ()
        if path == "/v1/policies" or path.startswith("/v1/policies/"):
            return "policies", self.policy_api.handle, ()
        return None

    def _management_admin(self, name: str, method: str, data: dict[str, Any]) -> Response | None:
        reads = {"service-ids": self.service_ids, "apikeys": self.apikeys, "policies": self.policies}
        if method == "GET" and name in reads:
            return json_response(200, reads[name]())
        if method == "POST" and name == "consistency":
            self.set_consistency_delay(reads=data.get("reads", 0))
            return json_response(200, {"reads": data.get("reads", 0)})
        return None

    def _management(self) -> tuple[IdentityApi, PolicyApi]:
        if self.identity_api is None or self.policy_api is None:
            raise RuntimeError("the emulator is not started")
        return self.identity_api, self.policy_api

    def service_ids(self) -> list[dict[str, Any]]:
        """Every service ID record, as GET /v1/serviceids/{id} shows it."""
        identity, _policies = self._management()
        with identity._lock:  # pylint: disable=protected-access
            return [identity.serviceid_record(m) for m in identity.serviceids.values()]

    def apikeys(self) -> list[dict[str, Any]]:
        """Every API key record that is not deleted, without values."""
        identity, _policies = self._management()
        with identity._lock:  # pylint: disable=protected-access
            return [identity.apikey_record(m) for m in identity._live_keys()]  # pylint: disable=protected-access

    def policies(self) -> list[dict[str, Any]]:
        """Every policy record, each with its current `etag`."""
        return self._management()[1].list_records()

    def set_consistency_delay(self, reads: int = 0) -> None:
        """Policies created or replaced from now on answer 404 to the next `reads` GETs by id (0: off)."""
        self._management()[1].set_consistency_delay(reads)

    def _log(self, line: str) -> None:
        stream = self.log_stream or sys.stderr
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with self._log_lock:
            stream.write(f"{stamp} icr-emulator {line}\n")
            stream.flush()
