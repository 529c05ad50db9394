"""A one-layer OCI image layout written by hand, so no test ever downloads an image."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
from typing import Any

__all__ = ["write_oci_layout", "oci_arch"]

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}


def oci_arch() -> str:
    machine = platform.machine().lower()
    return _ARCH.get(machine, machine)


def _blob(blobs_dir: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs_dir, digest), "wb") as handle:
        handle.write(data)
    return f"sha256:{digest}"


def _layer_tar(filename: str, content: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(filename)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def write_oci_layout(
    directory: str,
    tag: str = "latest",
    *,
    content: bytes = b"hello from icr_infra\n",
    filename: str = "hello.txt",
) -> str:
    """Write (or add ``tag`` to) an OCI image layout in ``directory``; returns the manifest digest.

    Use it with ``skopeo copy oci:DIRECTORY:TAG docker://...``. Different ``content`` gives a different image.
    """
    blobs_dir = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs_dir, exist_ok=True)
    with open(os.path.join(directory, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)

    tar_bytes = _layer_tar(filename, content)
    gz_bytes = gzip.compress(tar_bytes, mtime=0)
    layer_digest = _blob(blobs_dir, gz_bytes)
    config: dict[str, Any] = {
        "created": "1970-01-01T00:00:00Z",
        "architecture": oci_arch(),
        "os": "linux",
        "config": {"Cmd": ["/bin/true"], "Labels": {"org.opencontainers.image.title": "icr-infra-test"}},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "icr_infra.oci.write_oci_layout"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode("utf-8")
    config_digest = _blob(blobs_dir, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": len(gz_bytes)}],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8")
    manifest_digest = _blob(blobs_dir, manifest_bytes)

    index_path = os.path.join(directory, "index.json")
    index: dict[str, Any] = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as handle:
            index = json.load(handle)
    index["manifests"] = [
        m for m in index.get("manifests", []) if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
    ]
    index["manifests"].append({
        "mediaType": MANIFEST_TYPE,
        "digest": manifest_digest,
        "size": len(manifest_bytes),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    })
    with open(index_path, "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=2)
    return manifest_digest
