"""The hand-written OCI layout is well formed: every digest matches, the index names the tag."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

from icr_infra import write_oci_layout


def _blob(root: Path, digest: str) -> bytes:
    algo, hexdigest = digest.split(":")
    data = (root / "blobs" / algo / hexdigest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hexdigest
    return data


def test_layout_is_consistent(tmp_path: Path) -> None:
    digest = write_oci_layout(str(tmp_path), "v1", content=b"abc\n", filename="f.txt")
    assert json.loads((tmp_path / "oci-layout").read_text(encoding="utf-8")) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    (entry,) = index["manifests"]
    assert entry["digest"] == digest and entry["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    manifest = json.loads(_blob(tmp_path, digest))
    assert entry["size"] == len(_blob(tmp_path, digest))
    config = json.loads(_blob(tmp_path, manifest["config"]["digest"]))
    (layer,) = manifest["layers"]
    tar_bytes = gzip.decompress(_blob(tmp_path, layer["digest"]))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        member = tar.extractfile("f.txt")
        assert member is not None and member.read() == b"abc\n"


def test_layout_is_deterministic_and_tags_accumulate(tmp_path: Path) -> None:
    first = write_oci_layout(str(tmp_path / "a"), "v1")
    again = write_oci_layout(str(tmp_path / "b"), "v1")
    other = write_oci_layout(str(tmp_path / "a"), "v2", content=b"different\n")
    assert first == again != other
    index = json.loads((tmp_path / "a" / "index.json").read_text(encoding="utf-8"))
    assert sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]) == ["v1", "v2"]
    # Re-tagging replaces, it does not duplicate.
    write_oci_layout(str(tmp_path / "a"), "v2")
    index = json.loads((tmp_path / "a" / "index.json").read_text(encoding="utf-8"))
    assert len(index["manifests"]) == 2 and os.path.isdir(tmp_path / "a" / "blobs" / "sha256")
