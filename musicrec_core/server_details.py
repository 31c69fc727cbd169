"""Core messages made fit for people outside the server: no server paths, no OS error text.

Core messages are written for a person at the command line, so they may name server paths
and quote OS errors (``"Cannot read /srv/index/CURRENT: Permission denied."``). A front
end that answers members or API clients shows them through :func:`without_server_details`
first: a path becomes its last component and the OS's error text is left out. The bot then
also makes the text inert for Discord (:func:`bot.errors.public_text`).
"""

from __future__ import annotations

import errno
import os
import re

__all__ = ["without_server_details"]

_OS_ERROR_TEXTS = sorted({os.strerror(code) for code in errno.errorcode}, key=len, reverse=True)
_QUOTED = r"""(?:'[^'\n]*'|"[^"\n]*")"""
_OS_ERROR = re.compile(
    r"(?::\s*)?(?:\[(?:Errno|WinError) -?\d+\]\s*)?"
    rf"(?:{'|'.join(re.escape(text) for text in _OS_ERROR_TEXTS)})"
    rf"(?::\s*{_QUOTED}(?:\s*->\s*{_QUOTED})?)?"
)
"""An OS error's text as ``str(OSError)`` or ``.strerror`` writes it, with the file names
it quotes and the ``": "`` that introduces it."""
_ERRNO_TAG = re.compile(r"\[(?:Errno|WinError) -?\d+\]\s*")
_QUOTED_PATH = re.compile(r"""(['"])(~?/[^'"\n]*)\1""")
_COMPONENT = r"/[^\s/'\"`<>]+"
_BARE_PATH = re.compile(rf"(?<![\w.:/~-])(?:~(?:{_COMPONENT})+|(?:{_COMPONENT}){{2,}})/?")
"""A home path, or an absolute path of two or more components (one alone is left alone,
so "/recommend" stays a command name)."""


def _last_component(path: str) -> str:
    parts = [part for part in path.split("/") if part and part != "~"]
    return parts[-1] if parts else path


def without_server_details(text: str) -> str:
    """``text`` without server paths (each shown as its last component) or OS error text.

    ``"Cannot read /srv/index/CURRENT: Permission denied."`` -> ``"Cannot read CURRENT."``
    """
    text = _ERRNO_TAG.sub("", _OS_ERROR.sub("", text))
    text = _QUOTED_PATH.sub(lambda match: match[1] + _last_component(match[2]) + match[1], text)
    return _BARE_PATH.sub(lambda match: _last_component(match[0]), text)
