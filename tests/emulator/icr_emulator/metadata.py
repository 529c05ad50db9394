"""VPC instance metadata service, identity part: instance identity token -> IAM token of a trusted profile.

Both API versions under IBM's paths, on the emulator's own origin (README "VPC instance metadata service"):
  version >= 2025-08-26: PUT /identity/v1/token,          POST /identity/v1/iam_tokens
  version <  2025-08-26: PUT /instance_identity/v1/token, POST /instance_identity/v1/iam_token
A path of the other generation answers 404 for the version given. Every request needs `Metadata-Flavor: ibm`.
"""
from __future__ import annotations

import datetime
import json
import re
import time
import uuid
from typing import Any

from .httpio import Request, Response, json_response
from .iam import IamService
from .keyless import KeylessState
from .keyless_fixture import Instance, TrustedProfile

NEW_VERSION = "2025-08-26"
LEGACY_VERSION = "2022-03-01"
CR_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
PATHS = {
    "/identity/v1/token": ("metadata_token", True),
    "/identity/v1/iam_tokens": ("metadata_iam_token", True),
    "/instance_identity/v1/token": ("metadata_token", False),
    "/instance_identity/v1/iam_token": ("metadata_iam_token", False),
}
MIN_EXPIRES_IN, MAX_EXPIRES_IN, DEFAULT_EXPIRES_IN = 5, 3600, 300
MORE_INFO = "https://cloud.ibm.com/docs/vpc?topic=vpc-imd-identity-operations"
INVENTED_HEADER = "X-Icr-Emulator-Invented"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class MetadataError(Exception):
    """An answer in the VPC API's error shape."""

    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


def metadata_error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """The VPC API error body: {"errors": [{"code", "message", "more_info"}], "trace"}.

    The codes are the emulator's own (no public list of the metadata service's codes was found): marked invented.
    """
    body = {"errors": [{"code": code, "message": message, "more_info": MORE_INFO}], "trace": uuid.uuid4().hex}
    resp = json_response(status, body, headers)
    resp.set_header(INVENTED_HEADER, code)
    resp.note = code
    return resp


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _json_body(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    if req.content_type() != "application/json":
        raise MetadataError(415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json).")
    try:
        data = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MetadataError(400, "invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise MetadataError(400, "invalid_json", "The request body must be a JSON object.")
    return data


def _check_version(value: str, new_paths: bool) -> None:
    if not value:
        raise MetadataError(400, "missing_version", "The query parameter 'version' is required "
                            f"(e.g. version={NEW_VERSION} or version={LEGACY_VERSION}).")
    try:
        valid = bool(_DATE.match(value)) and datetime.date.fromisoformat(value) is not None
    except ValueError:
        valid = False
    if not valid:
        raise MetadataError(400, "invalid_version", f"The version '{value[:40]}' is not a date of the form YYYY-MM-DD.")
    if value > datetime.datetime.now(datetime.timezone.utc).date().isoformat():
        raise MetadataError(400, "invalid_version", f"The version '{value}' is in the future.")
    if new_paths != (value >= NEW_VERSION):
        raise MetadataError(404, "not_found", "Not found: with version "
                            f"{'>=' if value >= NEW_VERSION else '<'} {NEW_VERSION} use the "
                            f"{'/identity/v1' if value >= NEW_VERSION else '/instance_identity/v1'} paths.")


class MetadataService:
    """The identity operations of the metadata service of one (selectable) VPC instance."""

    def __init__(self, iam: IamService, state: KeylessState) -> None:
        self.iam = iam
        self.state = state

    @staticmethod
    def endpoint_of(path: str) -> str | None:
        """The counter/fault endpoint name of a metadata path, else None."""
        entry = PATHS.get(path)
        return entry[0] if entry else None

    def handle(self, req: Request) -> Response:
        """Handle any request to one of the four metadata paths."""
        endpoint, new_paths = PATHS[req.path]
        try:
            _check_version(req.arg("version"), new_paths)
            if req.header("Metadata-Flavor") != "ibm":
                raise MetadataError(400, "missing_metadata_flavor", "The header 'Metadata-Flavor: ibm' is required.")
            instance = self.state.current_instance()
            if instance is None:
                raise MetadataError(503, "metadata_service_unavailable", "The fixture has no VPC instance.")
            if endpoint == "metadata_token":
                return self._identity_token(req, instance)
            return self._iam_token(req)
        except MetadataError as err:
            return metadata_error(err.status, err.code, err.message, err.headers)

    def _identity_token(self, req: Request, instance: Instance) -> Response:
        if req.method != "PUT":
            raise MetadataError(405, "method_not_allowed", "Use PUT to create an instance identity token.", [("Allow", "PUT")])
        data = _json_body(req)
        unknown = sorted(set(data) - {"expires_in", "nonce"})
        if unknown:
            raise MetadataError(400, "invalid_property", f"Unknown property: {', '.join(u[:40] for u in unknown)}.")
        expires_in = data.get("expires_in", DEFAULT_EXPIRES_IN)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN:
            raise MetadataError(400, "invalid_expires_in",
                                f"expires_in must be an integer number of seconds from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN}.")
        now = time.time()
        token, expires = self.state.issue_identity_token(instance, expires_in)
        resp = json_response(200, {"access_token": token, "created_at": _iso(now), "expires_at": _iso(expires),
                                   "expires_in": expires_in})
        resp.note = "issued"
        return resp

    def _iam_token(self, req: Request) -> Response:
        if req.method != "POST":
            raise MetadataError(405, "method_not_allowed", "Use POST to create an IAM token.", [("Allow", "POST")])
        bearer = req.bearer()
        if not bearer:
            raise MetadataError(401, "missing_authorization",
                                "An instance identity token is required: Authorization: Bearer <token>.")
        instance = self.state.instance_of_token(bearer)
        if instance is None:
            raise MetadataError(401, "invalid_token", "The instance identity token is not valid or has expired.")
        profile = self._profile(instance, _json_body(req))
        return self._issue(profile)

    def _profile(self, instance: Instance, data: dict[str, Any]) -> TrustedProfile:
        unknown = sorted(set(data) - {"trusted_profile"})
        if unknown:
            raise MetadataError(400, "invalid_property", f"Unknown property: {', '.join(u[:40] for u in unknown)}.")
        if "trusted_profile" not in data:
            if instance.default_profile is None:
                raise MetadataError(400, "no_default_trusted_profile",
                                    "The instance has no default trusted profile: name one in trusted_profile.")
            profile = self.state.profile(instance.default_profile)
            assert profile is not None
            return profile
        ref = data["trusted_profile"]
        if not isinstance(ref, dict) or sorted(set(ref) - {"id", "crn"}):
            raise MetadataError(400, "invalid_trusted_profile", "trusted_profile must be an object with 'id' or 'crn'.")
        if "id" in ref and "crn" in ref:
            raise MetadataError(400, "invalid_trusted_profile", "trusted_profile: give 'id' or 'crn', not both.")
        if not ref or not isinstance(next(iter(ref.values())), str) or not next(iter(ref.values())):
            raise MetadataError(400, "invalid_trusted_profile", "trusted_profile needs a non-empty 'id' or 'crn'.")
        profile = self.state.profile(ref["id"]) if "id" in ref else self.state.profile_by_crn(ref["crn"])
        if profile is None or profile.id not in instance.profiles:
            raise MetadataError(403, "trusted_profile_not_linked", "The trusted profile is not linked to this instance.")
        return profile

    def _issue(self, profile: TrustedProfile) -> Response:
        identity = self.iam.directory.identity(profile.iam_id)
        assert identity is not None
        iat = int(time.time())
        lifetime = self.iam.lifetimes.access_token_lifetime
        claims = self.iam.access_claims(identity, None, CR_GRANT, "default", iat, iat + lifetime)
        resp = json_response(200, {"access_token": self.iam.signer.sign(claims), "created_at": _iso(iat),
                                   "expires_at": _iso(iat + lifetime), "expires_in": lifetime})
        resp.note = "issued"
        return resp
