"""A headless ``pass`` store (gpg key without passphrase) that ``docker-credential-pass`` can use."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from ._proc import ClientResult, HarnessError, clean_env, make_tempdir, remove_tree, run

__all__ = ["PassStore", "HELPER"]

HELPER = "docker-credential-pass"


class PassStore:
    """``GNUPGHOME`` and ``PASSWORD_STORE_DIR`` in a temp dir, a fresh gpg key, ``pass init <fingerprint>``.

    Merge ``.env`` into the environment of anything that should find the store (docker CLI, modules under test).
    """

    def __init__(self, name: str = "icr-infra test") -> None:
        self.name = name
        self.dir: str | None = None
        self.gnupghome = ""
        self.store_dir = ""
        self.fingerprint = ""
        self.startup_seconds: float | None = None

    @property
    def env(self) -> dict[str, str]:
        if self.dir is None:
            raise HarnessError("PassStore not started")
        return {"GNUPGHOME": self.gnupghome, "PASSWORD_STORE_DIR": self.store_dir}

    def _env(self) -> dict[str, str]:
        return clean_env(self.env, home=self.dir)

    def _run(self, argv: list[str], input_text: str | None = None, timeout: float = 60.0) -> ClientResult:
        return run(argv, env=self._env(), input_text=input_text, timeout=timeout)

    def start(self) -> PassStore:
        started = time.monotonic()
        self.dir = make_tempdir("icr-pass-")
        self.gnupghome = os.path.join(self.dir, "gnupg")
        self.store_dir = os.path.join(self.dir, "password-store")
        os.makedirs(self.gnupghome, mode=0o700)
        try:
            # An empty passphrase is not a secret: the key only guards this throwaway store.
            gen = self._run([
                "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                "--quick-gen-key", f"{self.name} <icr-infra@example.invalid>", "default", "default", "never",
            ], timeout=120)
            if gen.rc != 0:
                raise HarnessError(f"gpg --quick-gen-key failed: {gen.stderr.strip()}")
            listing = self._run(["gpg", "--batch", "--with-colons", "--list-secret-keys"])
            fprs = [line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:")]
            if not fprs:
                raise HarnessError(f"no gpg key after generation: {listing.stdout!r}")
            self.fingerprint = fprs[0]
            init = self._run(["pass", "init", self.fingerprint])
            if init.rc != 0:
                raise HarnessError(f"pass init failed: {init.stderr.strip()}")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    # --- the docker-credential-helpers protocol, for assertions ---------------------------------------------------
    def helper(self, action: str, stdin: str = "") -> ClientResult:
        """Run ``docker-credential-pass ACTION`` with ``stdin``; the secret travels on stdin, never in argv."""
        return self._run([HELPER, action], input_text=stdin)

    def store(self, server: str, username: str, secret: str) -> ClientResult:
        return self.helper("store", json.dumps({"ServerURL": server, "Username": username, "Secret": secret}))

    def get(self, server: str) -> dict[str, Any] | None:
        """The stored ``{"ServerURL", "Username", "Secret"}`` for ``server``, or None when there is none."""
        result = self.helper("get", server)
        if result.rc != 0:
            return None
        data = json.loads(result.stdout)
        return data if isinstance(data, dict) and data.get("Secret") else None

    def list(self) -> dict[str, str]:
        """``{server: username}`` as the helper lists it."""
        result = self.helper("list")
        if result.rc != 0:
            raise HarnessError(f"{HELPER} list failed: {result.stderr.strip()}")
        data = json.loads(result.stdout or "{}")
        return dict(data) if isinstance(data, Mapping) else {}

    def erase(self, server: str) -> ClientResult:
        return self.helper("erase", server)

    def stop(self) -> None:
        if self.dir is not None and os.path.isdir(self.gnupghome):
            # Ends the gpg-agent that gpg started for this GNUPGHOME (by its socket, not by process name).
            run(["gpgconf", "--kill", "all"], env=self._env(), timeout=30)
        remove_tree(self.dir)
        self.dir = None

    def __enter__(self) -> PassStore:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
