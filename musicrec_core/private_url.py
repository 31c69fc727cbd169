"""URLs that carry a secret or a user's data, or bring trusted bytes: encrypted, or to this
machine only.

One rule for every such URL (Discord's API and gateway, which carry the bot token; the
oEmbed endpoint, which learns what people listen to; every download and its mirror, whose
bytes become model weights and catalog rows): the encrypted scheme (``https``,
``wss``) to any host, or its clear-text twin (``http``, ``ws``) only to a loopback host
(``localhost``, 127.0.0.0/8, ``::1``), where the traffic never leaves the machine (local
stand-ins in tests and development).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote, urlsplit

__all__ = ["check_private_url", "is_loopback", "url_credentials"]

MIN_PART_CHARS = 4
"""A user name or password shorter than this is redacted only inside the whole ``user:pass``
(replacing every ``a`` of every line would make the logs unreadable)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) names this machine: localhost, 127.0.0.0/8, ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_private_url(url: str, *, secure: str, plain: str) -> str:
    """``url`` without surrounding blanks, if it may carry a secret.

    Args:
        url: the URL to check.
        secure: the encrypted scheme ("https", "wss").
        plain: its clear-text twin ("http", "ws"), accepted for loopback hosts only.

    Raises:
        ValueError: no host, another scheme, or ``plain`` to a host that is not loopback;
            the message says what to use instead.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:
        scheme, host = "", None
    if host and (scheme == secure or (scheme == plain and is_loopback(host))):
        return url
    raise ValueError(
        f"use a {secure}:// URL; {plain}:// sends it in clear text and is only accepted "
        "for a loopback host (localhost, 127.0.0.0/8, ::1)"
    )


def url_credentials(url: str) -> tuple[str, ...]:
    """The credentials in a URL's ``user:password@`` part, as they may appear in messages.

    Gives the whole user info and, when at least :data:`MIN_PART_CHARS` long, the user name
    and the password, each as written (percent-encoded) and decoded; empty without user info.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    userinfo, at, _ = parts.netloc.rpartition("@")
    if not at or not userinfo:
        return ()
    found = {userinfo, unquote(userinfo)}
    for part in userinfo.split(":", 1):
        if len(part) >= MIN_PART_CHARS:
            found.update({part, unquote(part)})
    return tuple(sorted(found, key=len, reverse=True))
