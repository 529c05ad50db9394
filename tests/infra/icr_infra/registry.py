"""Debian's ``docker-registry`` (CNCF distribution 2.8) with token auth, on a free loopback port."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

import trustme

from ._proc import HarnessError, ManagedProcess, free_port, make_tempdir, remove_tree, wait_until

__all__ = ["Registry", "REGISTRY_BIN"]

REGISTRY_BIN = os.environ.get("ICR_INFRA_REGISTRY_BIN", "/usr/bin/docker-registry")


class Registry:
    """A real distribution registry that trusts tokens signed by a key in ``rootcertbundle``.

    ``tls``: ``None``/``False`` for plain HTTP, ``True`` for a fresh ``trustme`` CA, or a ``trustme.CA`` to issue the
    server certificate from. Use as a context manager (``with Registry(...) as reg:``) or ``start()``/``stop()``.
    """

    def __init__(
        self,
        realm_url: str,
        issuer: str,
        rootcertbundle: str,
        service: str = "registry",
        tls: bool | trustme.CA | None = None,
        *,
        start_timeout: float = 30.0,
    ) -> None:
        self.realm_url = realm_url
        self.issuer = issuer
        self.rootcertbundle = os.path.abspath(rootcertbundle)
        self.service = service
        self.start_timeout = start_timeout
        self.ca: trustme.CA | None
        if tls is True:
            self.ca = trustme.CA()
        elif isinstance(tls, trustme.CA):
            self.ca = tls
        else:
            self.ca = None
        self.port = 0
        self.dir: str | None = None
        self.storage_dir = ""
        self.config_path = ""
        self.log_path = ""
        self.cert_dir: str | None = None
        self.ca_pem_path: str | None = None
        self.startup_seconds: float | None = None
        self._proc: ManagedProcess | None = None

    @property
    def tls(self) -> bool:
        return self.ca is not None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry name clients and credential files use."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _config(self) -> dict[str, Any]:
        http: dict[str, Any] = {
            "addr": self.host,
            # Fixed on purpose: a restart keeps upload state valid. Not a credential.
            "secret": "icr-infra-registry-http-secret",
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self.tls:
            http["tls"] = {
                "certificate": os.path.join(self.dir or "", "tls", "server.crt"),
                "key": os.path.join(self.dir or "", "tls", "server.key"),
            }
        return {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "fields": {"service": "registry"}},
            "storage": {
                "filesystem": {"rootdirectory": self.storage_dir},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
            "auth": {
                "token": {
                    "realm": self.realm_url,
                    "service": self.service,
                    "issuer": self.issuer,
                    "rootcertbundle": self.rootcertbundle,
                }
            },
        }

    def _write_tls(self) -> None:
        assert self.ca is not None and self.dir is not None
        tls_dir = os.path.join(self.dir, "tls")
        os.makedirs(tls_dir, mode=0o700)
        server = self.ca.issue_cert("127.0.0.1", "localhost")
        server.cert_chain_pems[0].write_to_path(os.path.join(tls_dir, "server.crt"))
        for extra in server.cert_chain_pems[1:]:
            extra.write_to_path(os.path.join(tls_dir, "server.crt"), append=True)
        server.private_key_pem.write_to_path(os.path.join(tls_dir, "server.key"))
        os.chmod(os.path.join(tls_dir, "server.key"), 0o600)
        # --cert-dir layout for skopeo/podman: a directory holding ca.crt.
        self.cert_dir = os.path.join(self.dir, "certs.d")
        os.makedirs(self.cert_dir)
        self.ca_pem_path = os.path.join(self.cert_dir, "ca.crt")
        self.ca.cert_pem.write_to_path(self.ca_pem_path)

    def _probe(self) -> bool:
        request = urllib.request.Request(f"{self.url}/v2/", method="GET")
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_pem_path)
        try:
            with urllib.request.urlopen(request, timeout=2, context=context):  # nosec - loopback only
                return False
        except urllib.error.HTTPError as exc:
            return exc.code == 401 and "Bearer" in (exc.headers.get("WWW-Authenticate") or "")

    def start(self) -> Registry:
        if not shutil.which(REGISTRY_BIN):
            raise HarnessError(f"{REGISTRY_BIN} not found: run .ci/install-deps.sh")
        self.dir = make_tempdir("icr-registry-")
        self.storage_dir = os.path.join(self.dir, "storage")
        os.makedirs(self.storage_dir)
        if self.tls:
            self._write_tls()
        self.log_path = os.path.join(self.dir, "registry.log")
        self.config_path = os.path.join(self.dir, "config.yml")
        last_error: HarnessError | None = None
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            self.port = free_port()
            with open(self.config_path, "w", encoding="utf-8") as handle:
                json.dump(self._config(), handle, indent=2)  # YAML is a superset of JSON
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir}
            self._proc = ManagedProcess([REGISTRY_BIN, "serve", self.config_path], name="docker-registry", log_path=self.log_path, env=env)
            started = time.monotonic()
            self._proc.start()
            try:
                wait_until(self._probe, timeout=self.start_timeout, what=f"docker-registry on {self.host}",
                           alive=self._proc.alive, describe=self._proc.log_tail)
            except HarnessError as exc:
                last_error = exc
                self._proc.stop()
                self._proc = None
                if "address already in use" in str(exc):
                    continue
                break
            self.startup_seconds = time.monotonic() - started
            return self
        self.stop()
        raise last_error or HarnessError("docker-registry did not start")

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        remove_tree(self.dir)
        self.dir = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
