"""RSA keys that sign IAM access tokens and registry tokens, kept in the state directory."""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

IAM_KEY_FILE = "iam-signing-key.pem"
REGISTRY_KEY_FILE = "registry-token-key.pem"
REGISTRY_CERT_FILE = "registry-token-cert.pem"


def libtrust_kid(public_key: Any) -> str:
    """Key id as docker/libtrust computes it: sha256 of the DER SPKI, 30 bytes, base32, 12 groups of 4."""
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, 48, 4))


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_or_create_key(path: str) -> rsa.RSAPrivateKey:
    if os.path.exists(path):
        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return key


class IamSigner:
    """Signs and verifies IAM access tokens (RS256, with a kid published in the JWKS)."""

    def __init__(self, state_dir: str) -> None:
        self.key = _load_or_create_key(os.path.join(state_dir, IAM_KEY_FILE))
        spki = self.key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = "emu-" + hashlib.sha256(spki).hexdigest()[:16]

    def sign(self, claims: dict[str, Any]) -> str:
        """Encode claims as an RS256 JWT."""
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, issuer: str) -> dict[str, Any]:
        """Return the claims of a token this signer issued; raise jwt.PyJWTError otherwise."""
        return jwt.decode(token, self.key.public_key(), algorithms=["RS256"], issuer=issuer,
                          options={"require": ["exp", "iat", "iss", "iam_id"]})

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the public key."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}


class RegistrySigner:
    """Signs registry tokens with a key whose self-signed certificate is the registry's rootcertbundle."""

    def __init__(self, state_dir: str, common_name: str = "icr-emulator registry token signer") -> None:
        self.key = _load_or_create_key(os.path.join(state_dir, REGISTRY_KEY_FILE))
        self.cert_path = os.path.join(state_dir, REGISTRY_CERT_FILE)
        self.cert = self._load_or_create_cert(common_name)
        self.kid = libtrust_kid(self.key.public_key())
        self.x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode("ascii")]

    def _load_or_create_cert(self, common_name: str) -> x509.Certificate:
        if os.path.exists(self.cert_path):
            with open(self.cert_path, "rb") as handle:
                cert = x509.load_pem_x509_certificate(handle.read())
            if cert.public_key().public_numbers() == self.key.public_key().public_numbers():
                return cert
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        with open(self.cert_path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        return cert

    def sign(self, claims: dict[str, Any]) -> str:
        """Encode claims as an RS256 JWT with x5c and a libtrust kid in the header."""
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5c": self.x5c})

    def verify(self, token: str, issuer: str, audience: str) -> dict[str, Any]:
        """Return the claims of a registry token this signer issued; raise jwt.PyJWTError otherwise."""
        return jwt.decode(token, self.key.public_key(), algorithms=["RS256"], issuer=issuer, audience=audience,
                          leeway=60, options={"require": ["exp", "iss", "aud"]})
