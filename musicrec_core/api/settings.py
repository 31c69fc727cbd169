"""What an operator sets for the HTTP server: where it listens, where the keys are, and its caps.

Every field is read from the environment (or ``.env``) as ``MUSICREC_API_<FIELD>``, e.g.
``MUSICREC_API_PORT=8750``. Sizes are in the unit their name says (KiB or MiB), durations
in seconds. The service's own limits (queue, deadline, YouTube budget) are not here: they
belong to the core request service both front ends share.

The caps, and what a client that passes one gets (docs/operations.md):

- ``max_header_kib``: the request line and headers together; more is answered 400.
- ``max_json_kib``: any body that is not a multipart upload (JSON); more is answered 413.
- ``max_upload_mib``: a ``multipart/form-data`` body (the uploaded file and its fields);
  more is answered 413 while it streams, never read whole.
- ``header_timeout_s``: a connection must deliver a request's line and headers within this
  time of opening (or of its previous answer); else 408 and closed.
- ``body_timeout_s``: a request's body must arrive whole within this time of its headers;
  else 408 (a slow sender holds a worker no longer).
- ``request_timeout_s``: a request must be answered within this time of its headers, its
  body's arrival included; else 503.
- ``max_connections``: open connections at once; one more is answered 503 and closed.
- ``keepalive_s``: an idle kept-alive connection is closed after this.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ENV_PREFIX", "ApiSettings"]

ENV_PREFIX = "MUSICREC_API_"


class ApiSettings(BaseSettings):
    """The HTTP server's settings (``MUSICREC_API_*``); frozen once read."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    host: str = "127.0.0.1"
    """Address to listen on. Loopback by default: put a TLS reverse proxy in front to serve
    other machines (docs/operations.md)."""
    port: int = Field(default=8750, ge=0, le=65535)
    """TCP port; 0 picks a free one (tests)."""
    keys_path: Path | None = None
    """The API key file; None = ``<cache root>/api-keys.sqlite3``, where ``musicrec api-key``
    writes."""
    anonymous_loopback: bool = False
    """Answer requests without a key when they come from this machine (127.0.0.0/8, ::1).
    Leave off behind a reverse proxy on the same machine: every request would look local."""
    upload_dir: Path | None = None
    """Folder for uploads while they are analysed (each a private file, removed after its
    request); None = the system's temporary folder."""
    max_header_kib: int = Field(default=16, ge=1, le=1024)
    max_json_kib: int = Field(default=1024, ge=1, le=65536)
    max_upload_mib: int = Field(default=25, ge=1, le=2048)
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    request_timeout_s: float = Field(default=240.0, gt=0, le=3600)
    """Above ``body_timeout_s`` plus the service's request deadline (150 s by default), so the
    service answers its own overruns and this cap only catches what escapes it."""
    max_connections: int = Field(default=256, ge=1, le=100_000)
    keepalive_s: int = Field(default=5, ge=1, le=3600)
    access_log: bool = True
    """Log one line per request (client, method, path and query cut short, status, ms;
    never a key: :mod:`~musicrec_core.api.access_log`)."""

    @property
    def max_header_bytes(self) -> int:
        """``max_header_kib`` in bytes."""
        return self.max_header_kib * 1024

    @property
    def max_json_bytes(self) -> int:
        """``max_json_kib`` in bytes."""
        return self.max_json_kib * 1024

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mib`` in bytes."""
        return self.max_upload_mib * 1024 * 1024
