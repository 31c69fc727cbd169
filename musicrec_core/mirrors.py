"""Where the official downloads come from, and the variables that send them elsewhere.

musicrec downloads from three places: Google's ``audioset`` bucket (the VGGish weights),
Google's ``us_audioset`` bucket (AudioSet's class labels and its features archive) and
GitHub (AudioSet's ontology). Each has an environment variable that replaces its base URL,
for a mirror on a network that cannot reach the original, or a local stand-in in tests:

- ``MUSICREC_VGGISH_URL_BASE`` replaces ``https://storage.googleapis.com/audioset``;
- ``MUSICREC_AUDIOSET_URL_BASE`` replaces
  ``https://storage.googleapis.com/us_audioset/youtube_corpus/v1``;
- ``MUSICREC_ONTOLOGY_URL_BASE`` replaces
  ``https://raw.githubusercontent.com/audioset/ontology/master``.

A mirror holds the same paths below its base: with ``MUSICREC_VGGISH_URL_BASE=
https://mirror.lan/vggish``, ``.../audioset/vggish_model.ckpt`` is fetched from
``https://mirror.lan/vggish/vggish_model.ckpt``. A mirror must be ``https``, or plain
``http`` on a loopback host (a local stand-in), by the rule of
:func:`musicrec_core.private_url.check_private_url`; the md5 and sha256 checks stay as they
are (a mirror cannot change what is accepted). :func:`mirrored` is applied by
:func:`musicrec_core.download.open_stream`, so every download honours the variables, while
messages that tell a person what to fetch by hand keep naming the official URLs.
"""

from __future__ import annotations

import os

from musicrec_core.errors import DownloadError
from musicrec_core.private_url import check_private_url

VGGISH_URL_BASE_ENV = "MUSICREC_VGGISH_URL_BASE"
AUDIOSET_URL_BASE_ENV = "MUSICREC_AUDIOSET_URL_BASE"
ONTOLOGY_URL_BASE_ENV = "MUSICREC_ONTOLOGY_URL_BASE"

OFFICIAL_BASES: dict[str, str] = {
    VGGISH_URL_BASE_ENV: "https://storage.googleapis.com/audioset/",
    AUDIOSET_URL_BASE_ENV: "https://storage.googleapis.com/us_audioset/youtube_corpus/v1/",
    ONTOLOGY_URL_BASE_ENV: "https://raw.githubusercontent.com/audioset/ontology/master/",
}
"""Environment variable -> the official base URL it replaces (with its final slash)."""


def mirrored(url: str) -> str:
    """``url`` with its official base replaced by the one its variable names, if set.

    Raises:
        DownloadError: the variable names a plain http URL off loopback (or no URL at all);
            the message names the variable and what to use instead.
    """
    for variable, base in OFFICIAL_BASES.items():
        replacement = os.environ.get(variable, "").strip()
        if replacement and url.startswith(base):
            try:
                check_private_url(replacement, secure="https", plain="http")
            except ValueError as exc:
                raise DownloadError(f"{variable}={replacement} cannot be used: {exc}.") from None
            return replacement.rstrip("/") + "/" + url[len(base) :]
    return url
