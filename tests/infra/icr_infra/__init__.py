"""Real-infrastructure test harness for icr.auth: registry, clients, credential helper store, SSH fleet.

Tests only; never part of the built collection. See tests/infra/README.md.
"""
from __future__ import annotations

from ._proc import ClientResult, HarnessError, free_port
from .clients import DEBIAN_DOCKER, Dockerd, Podman, skopeo_copy, skopeo_inspect, skopeo_pull, skopeo_push, write_auth_file
from .credhelper import PassStore
from .fleet import SshFleet, find_ansible
from .oci import write_oci_layout
from .registry import Registry
from .tokens import RealmServer, SelfTestRealm, TokenSigner, libtrust_key_id

__all__ = [
    "DEBIAN_DOCKER",
    "ClientResult",
    "Dockerd",
    "HarnessError",
    "PassStore",
    "Podman",
    "RealmServer",
    "Registry",
    "SelfTestRealm",
    "SshFleet",
    "TokenSigner",
    "find_ansible",
    "free_port",
    "libtrust_key_id",
    "skopeo_copy",
    "skopeo_inspect",
    "skopeo_pull",
    "skopeo_push",
    "write_auth_file",
    "write_oci_layout",
]
