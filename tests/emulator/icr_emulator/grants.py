"""The IAM grants of keyless identity on POST /identity/token: compute-resource token and assume a trusted profile."""
from __future__ import annotations

import time
from typing import Callable

from .httpio import Response
from .iam import (E_CR_INVALID, E_NOT_TRUSTED, E_PROFILE_CONFLICT, E_PROFILE_NOT_FOUND, E_TOKEN_INVALID, IamError,
                  IamService)
from .keyless import KeylessState
from .keyless_fixture import TrustedProfile

CR_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"


def _missing(details: str) -> IamError:
    return IamError(400, "BXNIM0109E", "Property missing or empty.", details)


def _not_found() -> IamError:
    return IamError(400, E_PROFILE_NOT_FOUND, "Trusted profile not found.",
                    "No trusted profile matches the profile_id, profile_crn or profile_name given.")


class KeylessGrants:
    """Handlers for the cr-token and assume grants; install() registers them with the IAM service."""

    def __init__(self, iam: IamService, state: KeylessState) -> None:
        self.iam = iam
        self.state = state

    def install(self) -> None:
        """Register both grants with iam."""
        handlers: dict[str, Callable[[dict[str, str], str], Response]] = {CR_GRANT: self.cr_token, ASSUME_GRANT: self.assume}
        self.iam.extra_grants.update(handlers)

    def _issue(self, profile: TrustedProfile, grant_type: str, client_id: str) -> Response:
        identity = self.iam.directory.identity(profile.iam_id)
        if identity is None:  # a fixture profile is always an identity; guard anyway
            raise _not_found()
        return self.iam._success(identity, None, grant_type, client_id, "not_supported", time.time())  # pylint: disable=protected-access

    # --- urn:ibm:params:oauth:grant-type:cr-token ----------------------------------------------------
    def cr_token(self, form: dict[str, str], client_id: str) -> Response:
        """profile_id and/or profile_name (both: the same profile), cr_token; optional scope (accepted, ignored)."""
        value = form.get("cr_token", "")
        if not value:
            raise _missing("Property 'cr_token' either missing or empty.")
        profile_id, profile_name = form.get("profile_id", ""), form.get("profile_name", "")
        if not profile_id and not profile_name:
            raise _missing("At least one of the properties 'profile_id' and 'profile_name' must be given.")
        resource = self.state.resource_by_cr_token(value)
        if resource is None:
            raise IamError(400, E_CR_INVALID, "Provided compute resource token is invalid.",
                           "The compute resource token is unknown, expired or was rotated.")
        linked = [self.state.profile(pid) for pid in resource.profiles]
        by_id = self.state.profile(profile_id) if profile_id else None
        by_name = None
        if profile_name:
            by_name = next((p for p in linked if p is not None and p.name == profile_name), None)
            if by_name is None:
                by_name = next((p for p in self.state.fixture.profiles.values() if p.name == profile_name), None)
        if (profile_id and by_id is None) or (profile_name and by_name is None):
            raise _not_found()
        if by_id is not None and by_name is not None and by_id.id != by_name.id:
            raise IamError(400, E_PROFILE_CONFLICT, "The profile_id and profile_name name different trusted profiles.",
                           f"profile_id {by_id.id} is named '{by_id.name}'.")
        profile = by_id or by_name
        assert profile is not None
        if profile.id not in resource.profiles:
            raise IamError(403, E_NOT_TRUSTED, "The compute resource is not trusted by the trusted profile.",
                           f"Trusted profile {profile.id} does not trust this compute resource.")
        return self._issue(profile, CR_GRANT, client_id)

    # --- urn:ibm:params:oauth:grant-type:assume ------------------------------------------------------
    def assume(self, form: dict[str, str], client_id: str) -> Response:
        """access_token of the caller and one of profile_id | profile_crn | profile_name + account."""
        token = form.get("access_token", "")
        if not token:
            raise _missing("Property 'access_token' either missing or empty.")
        given = [name for name in ("profile_id", "profile_crn", "profile_name") if form.get(name)]
        if not given:
            raise _missing("One of the properties 'profile_id', 'profile_crn' or 'profile_name' must be given.")
        if len(given) > 1:
            raise IamError(400, E_PROFILE_CONFLICT, "Only one of profile_id, profile_crn and profile_name may be given.",
                           f"Given: {', '.join(given)}.")
        if given == ["profile_name"] and not form.get("account", ""):
            raise _missing("Property 'account' either missing or empty (it is needed with 'profile_name').")
        claims = self.iam.verify_access_token(token)
        if claims is None:
            raise IamError(400, E_TOKEN_INVALID, "Provided access token is invalid.",
                           "The access_token is not a valid, unexpired IAM access token.")
        if given == ["profile_id"]:
            profile = self.state.profile(form["profile_id"])
        elif given == ["profile_crn"]:
            profile = self.state.profile_by_crn(form["profile_crn"])
        else:
            profile = self.state.profile_by_name(form["profile_name"], form["account"])
        if profile is None:
            raise _not_found()
        if str(claims.get("iam_id", "")) not in profile.trusts:
            raise IamError(403, E_NOT_TRUSTED, "The identity is not trusted by the trusted profile.",
                           f"Trusted profile {profile.id} does not trust the identity of the access token.")
        return self._issue(profile, ASSUME_GRANT, client_id)
