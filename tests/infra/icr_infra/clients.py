"""Thin wrappers around the REAL registry clients: skopeo, podman (rootful, daemonless) and dockerd + docker CLI.

Every call returns ``ClientResult(rc, stdout, stderr)``. None of them logs in: credentials only ever come from a
file (``--authfile``, ``REGISTRY_AUTH_FILE``, ``DOCKER_CONFIG``) or a credential helper named in that file, and each
call runs with a scratch ``HOME`` and without inherited ``DOCKER_*``/``REGISTRY_AUTH_FILE`` variables, so the
credentials of whoever runs the tests are never used by accident.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ._proc import (
    ClientResult,
    HarnessError,
    ManagedProcess,
    children_of,
    clean_env,
    make_tempdir,
    remove_tree,
    run,
    wait_until,
)

__all__ = [
    "DEBIAN_DOCKER",
    "Dockerd",
    "Podman",
    "skopeo_copy",
    "skopeo_inspect",
    "skopeo_pull",
    "skopeo_push",
    "write_auth_file",
]

SKOPEO = "skopeo"
PODMAN = "podman"
DOCKERD = "/usr/sbin/dockerd"
DOCKER = "docker"  # first on PATH: the machine image's 28.x here
DEBIAN_DOCKER = "/usr/bin/docker"  # Debian's docker.io 20.10 CLI


def write_auth_file(
    path: str,
    auths: Mapping[str, tuple[str, str]] | None = None,
    *,
    creds_store: str | None = None,
    cred_helpers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Write a Docker ``config.json`` / containers ``auth.json`` (same format) with mode 0600; returns ``path``.

    ``auths`` maps a registry host to ``(username, password)``. For test setup only: the project's own code writes
    the files under test.
    """
    doc: dict[str, Any] = dict(extra or {})
    doc["auths"] = {
        host: {"auth": base64.b64encode(f"{user}:{secret}".encode("utf-8")).decode("ascii")}
        for host, (user, secret) in (auths or {}).items()
    }
    if creds_store:
        doc["credsStore"] = creds_store
    if cred_helpers:
        doc["credHelpers"] = dict(cred_helpers)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(doc, handle, indent=2)
    return path


def _client_env(env: Mapping[str, str] | None, home: str) -> dict[str, str]:
    return clean_env(env, home=home)


def _run_client(argv: Sequence[str], env: Mapping[str, str] | None, timeout: float, input_text: str | None = None) -> ClientResult:
    home = make_tempdir("icr-client-home-")
    try:
        return run(argv, env=_client_env(env, home), timeout=timeout, input_text=input_text)
    finally:
        remove_tree(home)


def _docker_side(prefix: str, authfile: str | None, cert_dir: str | None, tls_verify: bool | None) -> list[str]:
    args: list[str] = []
    if authfile:
        args.append(f"--{prefix}authfile={authfile}")
    verify = (cert_dir is not None) if tls_verify is None else tls_verify
    args.append(f"--{prefix}tls-verify={'true' if verify else 'false'}")
    if cert_dir:
        args.append(f"--{prefix}cert-dir={cert_dir}")
    return args


def skopeo_copy(
    src: str,
    dest: str,
    *,
    authfile: str | None = None,
    env: Mapping[str, str] | None = None,
    cert_dir: str | None = None,
    tls_verify: bool | None = None,
    timeout: float = 180.0,
) -> ClientResult:
    """``skopeo copy SRC DEST``; the options apply to whichever side is ``docker://``.

    ``tls_verify`` defaults to "verify when ``cert_dir`` is given", i.e. plain HTTP without it.
    ``authfile=None`` leaves credentials to ``env`` (``REGISTRY_AUTH_FILE`` or ``DOCKER_CONFIG``).
    """
    argv = [SKOPEO, "--insecure-policy", "copy", "--retry-times=0"]
    if src.startswith("docker://"):
        argv += _docker_side("src-", authfile, cert_dir, tls_verify)
    if dest.startswith("docker://"):
        argv += _docker_side("dest-", authfile, cert_dir, tls_verify)
    argv += [src, dest]
    return _run_client(argv, env, timeout)


def skopeo_push(layout_dir: str, tag: str, ref: str, **kwargs: Any) -> ClientResult:
    """Copy ``oci:LAYOUT_DIR:TAG`` to ``docker://REF`` (REF = ``HOST/ns/img:tag``)."""
    return skopeo_copy(f"oci:{layout_dir}:{tag}", f"docker://{ref}", **kwargs)


def skopeo_pull(ref: str, layout_dir: str, tag: str, **kwargs: Any) -> ClientResult:
    """Copy ``docker://REF`` into the OCI layout ``LAYOUT_DIR`` under ``TAG``."""
    os.makedirs(layout_dir, exist_ok=True)
    return skopeo_copy(f"docker://{ref}", f"oci:{layout_dir}:{tag}", **kwargs)


def skopeo_inspect(
    ref: str,
    *,
    authfile: str | None = None,
    env: Mapping[str, str] | None = None,
    cert_dir: str | None = None,
    tls_verify: bool | None = None,
    timeout: float = 60.0,
) -> ClientResult:
    """``skopeo inspect --raw docker://REF`` (the manifest), with the same credential/TLS options."""
    argv = [SKOPEO, "inspect", "--raw", "--retry-times=0"]
    if authfile:
        argv.append(f"--authfile={authfile}")
    verify = (cert_dir is not None) if tls_verify is None else tls_verify
    argv.append(f"--tls-verify={'true' if verify else 'false'}")
    if cert_dir:
        argv.append(f"--cert-dir={cert_dir}")
    argv.append(f"docker://{ref}")
    return _run_client(argv, env, timeout)


class Podman:
    """Rootful, daemonless podman with its own ``--root``/``--runroot``/``--tmpdir`` and the vfs driver."""

    def __init__(self, storage_driver: str = "vfs") -> None:
        self.storage_driver = storage_driver
        self.dir: str | None = None

    def start(self) -> Podman:
        self.dir = make_tempdir("icr-podman-")
        for sub in ("root", "runroot", "tmp"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o700)
        return self

    def _base(self) -> list[str]:
        if self.dir is None:
            raise HarnessError("Podman not started")
        return [
            PODMAN,
            "--root", os.path.join(self.dir, "root"),
            "--runroot", os.path.join(self.dir, "runroot"),
            "--tmpdir", os.path.join(self.dir, "tmp"),
            "--storage-driver", self.storage_driver,
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "file",
        ]

    def run(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 180.0) -> ClientResult:
        return _run_client(self._base() + list(args), env, timeout)

    def pull(
        self,
        ref: str,
        *,
        authfile: str | None = None,
        env: Mapping[str, str] | None = None,
        cert_dir: str | None = None,
        tls_verify: bool | None = None,
        timeout: float = 180.0,
    ) -> ClientResult:
        """``podman pull REF`` (credentials from ``authfile`` or ``REGISTRY_AUTH_FILE`` in ``env``)."""
        args = ["pull", "--quiet", "--retry=0"] if _podman_has_retry() else ["pull", "--quiet"]
        if authfile:
            args.append(f"--authfile={authfile}")
        verify = (cert_dir is not None) if tls_verify is None else tls_verify
        args.append(f"--tls-verify={'true' if verify else 'false'}")
        if cert_dir:
            args.append(f"--cert-dir={cert_dir}")
        args.append(ref)
        return self.run(args, env=env, timeout=timeout)

    def image_exists(self, ref: str) -> bool:
        return self.run(["image", "exists", ref]).rc == 0

    def remove_image(self, ref: str) -> ClientResult:
        return self.run(["rmi", "--force", ref])

    def stop(self) -> None:
        remove_tree(self.dir)
        self.dir = None

    def __enter__(self) -> Podman:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_PODMAN_RETRY: bool | None = None


def _podman_has_retry() -> bool:
    """podman 4.3 has no ``pull --retry`` (added in 4.7); ask once."""
    global _PODMAN_RETRY  # pylint: disable=global-statement
    if _PODMAN_RETRY is None:
        result = run([PODMAN, "pull", "--help"], env=clean_env(), timeout=30)
        _PODMAN_RETRY = "--retry" in result.stdout
    return _PODMAN_RETRY


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 2.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Dockerd:
    """A test-owned dockerd: own socket, data-root, exec-root and pidfile; vfs; no iptables, no bridge.

    ``insecure_registries`` defaults to loopback (``127.0.0.0/8``, which dockerd treats as insecure anyway) plus any
    hosts given. Pull with ``pull(ref, docker_config=DIR)``: the docker CLI reads ``DIR/config.json`` and hands the
    credential to this daemon.
    """

    def __init__(
        self,
        insecure_registries: Sequence[str] = (),
        *,
        dockerd_bin: str = DOCKERD,
        docker_bin: str = DOCKER,
        start_timeout: float = 60.0,
        debug: bool = False,
    ) -> None:
        self.insecure_registries = ["127.0.0.0/8", *insecure_registries]
        self.dockerd_bin = dockerd_bin
        self.docker_bin = docker_bin
        self.start_timeout = start_timeout
        self.debug = debug
        self.dir: str | None = None
        self.socket_path = ""
        self.log_path = ""
        self.startup_seconds: float | None = None
        self._proc: ManagedProcess | None = None

    @property
    def host(self) -> str:
        """The value for ``docker -H`` / ``DOCKER_HOST``."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _ping(self) -> bool:
        conn = _UnixHTTPConnection(self.socket_path)
        try:
            conn.request("GET", "/_ping")
            response = conn.getresponse()
            return response.status == 200 and response.read().strip() == b"OK"
        finally:
            conn.close()

    def start(self) -> Dockerd:
        if not os.path.exists(self.dockerd_bin):
            raise HarnessError(f"{self.dockerd_bin} not found: run .ci/install-deps.sh")
        self.dir = make_tempdir("icr-dockerd-")
        self.socket_path = os.path.join(self.dir, "docker.sock")
        config = {
            "hosts": [self.host],
            "data-root": os.path.join(self.dir, "data"),
            "exec-root": os.path.join(self.dir, "exec"),
            "pidfile": os.path.join(self.dir, "docker.pid"),
            "storage-driver": "vfs",
            "iptables": False,
            "ip6tables": False,
            "ip-forward": False,
            "ip-masq": False,
            "bridge": "none",
            "userland-proxy": False,
            "insecure-registries": self.insecure_registries,
            "features": {"buildkit": False},
            "log-level": "debug" if self.debug else "info",
        }
        config_path = os.path.join(self.dir, "daemon.json")
        with open(config_path, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
        self.log_path = os.path.join(self.dir, "dockerd.log")
        env = clean_env(home=self.dir)
        self._proc = ManagedProcess([self.dockerd_bin, "--config-file", config_path], name="dockerd", log_path=self.log_path, env=env)
        started = time.monotonic()
        self._proc.start()
        try:
            wait_until(self._ping, timeout=self.start_timeout, what=f"dockerd on {self.socket_path}",
                       alive=self._proc.alive, describe=self._proc.log_tail)
        except HarnessError:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _strays(self) -> list[int]:
        pids: list[int] = []
        if self.dir:
            pidfile = os.path.join(self.dir, "exec", "containerd", "containerd.pid")
            try:
                with open(pidfile, encoding="utf-8") as handle:
                    pids.append(int(handle.read().strip()))
            except (OSError, ValueError):
                pass
        if self.pid:
            pids += children_of(self.pid)
        return pids

    def docker(
        self,
        args: Sequence[str],
        *,
        docker_config: str | None = None,
        env: Mapping[str, str] | None = None,
        docker_bin: str | None = None,
        timeout: float = 180.0,
        input_text: str | None = None,
    ) -> ClientResult:
        """``docker -H unix://SOCK ARGS`` with ``DOCKER_CONFIG=docker_config`` when given."""
        extra = dict(env or {})
        if docker_config is not None:
            extra["DOCKER_CONFIG"] = docker_config
        argv = [docker_bin or self.docker_bin, "-H", self.host, *args]
        return _run_client(argv, extra, timeout, input_text=input_text)

    def pull(self, ref: str, *, docker_config: str | None = None, env: Mapping[str, str] | None = None,
             docker_bin: str | None = None, timeout: float = 180.0) -> ClientResult:
        return self.docker(["pull", "--quiet", ref], docker_config=docker_config, env=env, docker_bin=docker_bin, timeout=timeout)

    def image_exists(self, ref: str) -> bool:
        return self.docker(["image", "inspect", "--format", "{{.Id}}", ref]).rc == 0

    def remove_image(self, ref: str) -> ClientResult:
        return self.docker(["image", "rm", "--force", ref])

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop(timeout=20.0, extra_pids=self._strays)
            self._proc = None
        if self.dir:
            _unmount_under(self.dir)
        remove_tree(self.dir)
        self.dir = None

    def __enter__(self) -> Dockerd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _unmount_under(path: str) -> None:
    """Lazily unmount anything the daemon left mounted below ``path`` (deepest first) so the tree can be removed."""
    prefix = os.path.realpath(path) + os.sep
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            points = [line.split()[1] for line in handle]
    except OSError:
        return
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        if shutil.which("umount"):
            run(["umount", "-l", point], timeout=30)
