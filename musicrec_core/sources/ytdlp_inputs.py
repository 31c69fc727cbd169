"""Checks of the two files/URLs an operator hands yt-dlp: the cookies file and the proxy.

One implementation serves every caller: the bot's settings refuse a bad value at start-up
with these messages, and ``musicrec doctor`` reports them. Both checks raise ValueError
with a reason that never quotes the secret (a cookie line, the proxy's password).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})
"""Proxy URL schemes yt-dlp accepts."""
PROXY_FORM = (
    "write it as SCHEME://[USER:PASSWORD@]HOST:PORT with scheme http, https, "
    "socks4, socks4a, socks5 or socks5h"
)
"""The reason given for a proxy URL that is not of that form."""


def check_cookies_file(path: Path) -> None:
    """Refuse a cookies file yt-dlp could not use; the reason never quotes the file's lines.

    Raises:
        ValueError: the file is missing, unreadable, JSON, or holds no Netscape cookie line
            (seven tab-separated fields; ``#`` lines other than ``#HttpOnly_`` are comments).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except IsADirectoryError:
        raise ValueError("it is a folder, not a cookies file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ValueError(f"the file cannot be read: {reason}") from None
    if text.lstrip().startswith(("[", "{")):
        raise ValueError("it is JSON; export the cookies in Netscape format (cookies.txt)")
    cookie_lines = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (line.startswith("#") and not line.startswith("#HttpOnly_")):
            continue
        if len(line.split("\t")) != 7:
            raise ValueError(
                f"line {number} is not a Netscape cookie line (7 tab-separated fields)"
            )
        cookie_lines += 1
    if not cookie_lines:
        raise ValueError("it holds no cookies; export them from a logged-in browser session")


def check_proxy_url(url: str) -> None:
    """Refuse a proxy URL yt-dlp could not use (the reason does not quote the URL).

    Raises:
        ValueError: not SCHEME://[USER:PASSWORD@]HOST:PORT with a scheme of
            :data:`PROXY_SCHEMES` and a port in 1..65535 (or none).
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number in 0..65535
        valid = parts.scheme.lower() in PROXY_SCHEMES and bool(parts.hostname) and port != 0
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(PROXY_FORM)
