"""Exact, thread-safe request counters per endpoint."""
from __future__ import annotations

import threading

COUNTER_NAMES = (
    "iam_token",                  # every POST/other request to /identity/token (faulted and failed ones included)
    "iam_token_apikey",           # ... of them with grant_type=urn:ibm:params:oauth:grant-type:apikey
    "iam_token_refresh",          # ... of them with grant_type=refresh_token
    "iam_token_issued",           # tokens actually issued (200 answers, not faulted)
    "identity_keys",              # GET /identity/keys
    "apikey_details",             # GET /v1/apikeys/details
    "registry_token",             # every request to the realm /oauth/token
    "registry_token_iamapikey",   # ... of them with Basic user iamapikey
    "registry_token_iambearer",   # ... iambearer
    "registry_token_iamrefresh",  # ... iamrefresh
    "registry_token_profile",     # ... a trusted profile id (password: a service ID's API key)
    "registry_token_issued",      # registry tokens actually issued
    "registry_v2",                # every request under /v2/
    "metadata_token",             # every request to PUT /identity/v1/token or /instance_identity/v1/token
    "metadata_iam_token",         # every request to POST /identity/v1/iam_tokens or /instance_identity/v1/iam_token
    "iam_token_cr",               # /identity/token with grant_type=urn:ibm:params:oauth:grant-type:cr-token
    "iam_token_assume",           # /identity/token with grant_type=urn:ibm:params:oauth:grant-type:assume
    "identity_serviceids",        # requests under /v1/serviceids (Identity API)
    "identity_apikeys",           # requests to /v1/apikeys and /v1/apikeys/{id}... (not /v1/apikeys/details)
    "policies",                   # requests under /v1/policies (Policy Management API)
    "faults_served",              # requests answered by an injected fault
    "not_found",                  # requests to unknown paths
)


class Counters:
    """A fixed set of named counters guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTER_NAMES, 0)

    def incr(self, *names: str) -> None:
        """Add one to each named counter."""
        with self._lock:
            for name in names:
                self._values[name] = self._values.get(name, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of all counters."""
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._values = dict.fromkeys(COUNTER_NAMES, 0)
