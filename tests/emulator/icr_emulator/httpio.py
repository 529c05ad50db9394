"""Plain request/response values passed between the HTTP server and the services."""
from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    """One HTTP request, already read."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    client: str = ""
    started: float = field(default_factory=time.time)

    def header(self, name: str, default: str = "") -> str:
        """A header value, or default."""
        value = self.headers.get(name)
        return default if value is None else str(value)

    def arg(self, name: str) -> str:
        """First value of a query parameter, or ''."""
        values = self.query.get(name)
        return values[0] if values else ""

    def content_type(self) -> str:
        """The media type, lower-cased, without parameters."""
        return self.header("Content-Type").split(";", 1)[0].strip().lower()

    def form(self) -> dict[str, str]:
        """The body as a form (first value of each field)."""
        try:
            parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parsed.items()}

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) from a Basic Authorization header; None if absent; ValueError if malformed."""
        header = self.header("Authorization")
        if not header:
            return None
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise ValueError("not a Basic authorization")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("undecodable Basic authorization") from exc
        user, sep, password = decoded.partition(":")
        if not sep:
            raise ValueError("Basic authorization without ':'")
        return user, password

    def bearer(self) -> str:
        """The token of a Bearer Authorization header, or ''."""
        scheme, _sep, value = self.header("Authorization").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""


@dataclass
class Response:
    """One HTTP response; `note` is a secret-free remark for the request log."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""

    def set_header(self, name: str, value: str) -> None:
        """Replace a header."""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()] + [(name, value)]

    def get_header(self, name: str) -> str | None:
        """A header value, or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None,
                  content_type: str = "application/json") -> Response:
    """A JSON response."""
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return Response(status, body, [("Content-Type", content_type)] + list(headers or []))
