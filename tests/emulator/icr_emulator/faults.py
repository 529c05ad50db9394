"""Injected faults: the next N requests to an endpoint answer an error, slowly, or with a broken body."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Mapping

FAULT_ENDPOINTS = ("iam_token", "registry_token", "registry_v2", "identity_keys", "metadata_token", "metadata_iam_token")
# IAM Identity and Policy Management APIs (identity_api.py, policy_api.py)
FAULT_ENDPOINTS += ("identity_serviceids", "identity_apikeys", "apikey_details", "policies")
# Container Registry management API: GET /api/v1/namespaces (namespaces_api.py)
FAULT_ENDPOINTS += ("registry_namespaces",)
FAULT_BODIES = ("malformed", "truncated", "empty")
# How Retry-After is written: delta-seconds (a fraction such as 1.5 is written as is), an HTTP date that many
# seconds ahead (RFC 9110 allows both), or something no parser can read (proxies send such things).
RETRY_AFTER_FORMS = ("seconds", "http-date", "malformed")
MAX_DELAY = 120.0


@dataclass
class Fault:
    """One queued fault; `count` is how many more requests it applies to."""

    endpoint: str
    status: int | None = None
    count: int = 1
    retry_after: float | None = None
    delay: float | None = None
    body: str | None = None
    retry_after_form: str = "seconds"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def make_fault(endpoint: str, status: int | None = None, count: int = 1, retry_after: float | None = None,
               delay: float | None = None, body: str | None = None, retry_after_form: str = "seconds") -> Fault:
    """Validate the fields of a fault; raise ValueError on a bad one."""
    if endpoint not in FAULT_ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(FAULT_ENDPOINTS)}")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599):
        raise ValueError("status must be an HTTP status between 200 and 599")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a positive integer")
    for label, value, upper in (("retry_after", retry_after, 86400.0), ("delay", delay, MAX_DELAY)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper):
            raise ValueError(f"{label} must be a number of seconds between 0 and {upper:g}")
    if body is not None and body not in FAULT_BODIES:
        raise ValueError(f"body must be one of {', '.join(FAULT_BODIES)}")
    if status is None and delay is None and body is None:
        raise ValueError("a fault needs at least one of status, delay, body")
    if retry_after_form not in RETRY_AFTER_FORMS:
        raise ValueError(f"retry_after_form must be one of {', '.join(RETRY_AFTER_FORMS)}")
    if retry_after_form != "seconds" and retry_after is None:
        raise ValueError("retry_after_form needs retry_after (seconds)")
    return Fault(endpoint, status, count, retry_after, delay, body, retry_after_form)


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """Build a fault from an admin request body."""
    allowed = {"endpoint", "status", "count", "retry_after", "delay", "body", "retry_after_form"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    return make_fault(str(data.get("endpoint", "")), data.get("status"), data.get("count", 1), data.get("retry_after"),
                      data.get("delay"), data.get("body"), data.get("retry_after_form", "seconds"))


class FaultQueue:
    """FIFO of faults per endpoint, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {e: deque() for e in FAULT_ENDPOINTS}

    def add(self, fault: Fault) -> None:
        """Queue a fault after those already pending for its endpoint."""
        with self._lock:
            self._queues[fault.endpoint].append(fault)

    def take(self, endpoint: str) -> Fault | None:
        """The fault for the next request to endpoint (consumes one of its count), or None."""
        with self._lock:
            queue = self._queues.get(endpoint)
            if not queue:
                return None
            head = queue[0]
            head.count -= 1
            if head.count <= 0:
                queue.popleft()
            return Fault(head.endpoint, head.status, 1, head.retry_after, head.delay, head.body, head.retry_after_form)

    def pending(self) -> list[dict[str, Any]]:
        """All pending faults, in order."""
        with self._lock:
            return [f.as_dict() for queue in self._queues.values() for f in queue]

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()
