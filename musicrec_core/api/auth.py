"""Who is asking, and whether they may ask now: the API key check and its per-key limits.

Mental model: every endpoint that does work depends on :func:`require_caller`. It reads
``Authorization: Bearer <key>``, looks the key up in the
:class:`~musicrec_core.api.keys.ApiKeyStore` (a revocation made by ``musicrec api-key revoke``
in another process is seen within a second), takes a token from the key's
:class:`~musicrec_core.api.rate.TokenBucket` and counts the request in the key's
:class:`~musicrec_core.api.rate.InFlight` until the endpoint has answered. Anonymous
requests are served only when the operator turned ``anonymous_loopback`` on *and* the peer
address is loopback; they share one anonymous allowance with the default
:class:`~musicrec_core.api.key_limits.KeyLimits`.

Answers: no key, a key in another scheme, an unknown or revoked key: 401 with
``WWW-Authenticate: Bearer`` (RFC 6750's ``error="invalid_token"`` for a key that was
presented); the bucket empty: 429 ``rate_limited`` with ``Retry-After`` (whole seconds,
rounded up); too many running: 429 ``too_many_in_flight``; the key file unreadable: 503.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from musicrec_core.api.access_log import KEY_NAME_STATE
from musicrec_core.api.http_errors import ApiError
from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.rate import InFlight, TokenBucket
from musicrec_core.errors import ApiKeyError

__all__ = ["Caller", "CallerGate", "require_caller"]

_REALM = 'Bearer realm="musicrec"'
_bearer = HTTPBearer(auto_error=False, description="An API key from `musicrec api-key add`.")


@dataclass(frozen=True)
class Caller:
    """Who a request is from.

    Attributes:
        name: the key's name (``musicrec api-key list``), or None for an anonymous
            loopback request.
        limits: the key's limits; ``limits.youtube_share`` is the fraction of the YouTube
            budget its requests may spend (the service enforces it).
    """

    name: str | None
    limits: KeyLimits

    @property
    def anonymous(self) -> bool:
        """True for a request without a key (allowed from loopback only)."""
        return self.name is None


class CallerGate:
    """The key check and each key's bucket and in-flight counter, for one server.

    Args:
        store: the key file.
        anonymous_loopback: serve requests without a key from loopback peers.
    """

    def __init__(self, store: ApiKeyStore, *, anonymous_loopback: bool = False) -> None:
        self.store = store
        self.anonymous_loopback = anonymous_loopback
        self._lock = threading.Lock()
        self._allowances: dict[str | None, tuple[TokenBucket, InFlight]] = {}

    def identify(
        self, authorization: HTTPAuthorizationCredentials | None, peer: str | None
    ) -> Caller:
        """The caller a request's credentials (or their absence, from ``peer``) name.

        Raises:
            ApiError: 401 (no usable key), 503 (the key file cannot be read).
        """
        if authorization is None:
            if self.anonymous_loopback and _is_loopback(peer):
                return Caller(None, KeyLimits())
            raise ApiError(
                401,
                "missing_key",
                "Send an API key as 'Authorization: Bearer <key>' (musicrec api-key add).",
                headers={"WWW-Authenticate": _REALM},
            )
        try:
            key = self.store.lookup(authorization.credentials)
        except ApiKeyError as exc:
            raise ApiError(
                503,
                "keys_unavailable",
                "The server cannot read its API keys right now; try again later.",
                headers={"Retry-After": "30"},
            ) from exc
        if key is None:
            raise ApiError(
                401,
                "invalid_key",
                "This API key is unknown or revoked.",
                headers={"WWW-Authenticate": _REALM + ', error="invalid_token"'},
            )
        return Caller(key.name, key.limits)

    def admit(self, caller: Caller) -> InFlight:
        """Take one of the caller's tokens and count one request running; the counter to
        :meth:`~musicrec_core.api.rate.InFlight.leave` when it ends.

        Raises:
            ApiError: 429 with Retry-After when the bucket is empty or too many run.
        """
        bucket, running = self._allowance(caller)
        wait_s = bucket.take()
        if wait_s > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests for this key; the next is allowed in {wait_s:.1f} s.",
                headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
            )
        if not running.enter():
            raise ApiError(
                429,
                "too_many_in_flight",
                f"This key already has {running.limit} requests running; wait for one to end.",
                headers={"Retry-After": "1"},
            )
        return running

    def _allowance(self, caller: Caller) -> tuple[TokenBucket, InFlight]:
        with self._lock:
            found = self._allowances.get(caller.name)
            if found is None:
                limits = caller.limits
                found = (TokenBucket(limits.rate, limits.burst), InFlight(limits.inflight))
                self._allowances[caller.name] = found
            return found


def _is_loopback(peer: str | None) -> bool:
    if peer is None:
        return False
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


async def require_caller(
    request: Request,
    authorization: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
) -> AsyncIterator[Caller]:
    """FastAPI dependency: the admitted :class:`Caller`, counted in flight until the
    endpoint's answer is done. Needs ``app.state.caller_gate`` (a :class:`CallerGate`,
    set by :func:`~musicrec_core.api.app.create_app`)."""
    gate: CallerGate = request.app.state.caller_gate
    peer = request.client.host if request.client else None
    caller = gate.identify(authorization, peer)
    setattr(request.state, KEY_NAME_STATE, caller.name)  # for the access line
    running = gate.admit(caller)
    try:
        yield caller
    finally:
        running.leave()
