"""The exceptions musicrec raises, each with a message its user can read.

Every error the library raises on purpose derives from :class:`MusicrecError`; third-party
errors are wrapped (``raise ... from exc``) so callers catch one family::

    MusicrecError
    ├── AudioError                  the input could not become a clip
    │   ├── NotAudioError           no audio stream (a PNG, a text file, a silent video)
    │   ├── AudioTooShortError      shorter than one embedder frame (0.975 s for VGGish)
    │   ├── UnreadableAudioError    ffmpeg could not decode it (corrupt, truncated)
    │   └── DecodeTimeoutError      ffmpeg ran past its time limit
    ├── SourceError                 fetching the input failed or was refused
    │   ├── LinkRejectedError       not a YouTube video link (other host, bare playlist, ...)
    │   ├── InputTooLargeError      over a size cap (attachment, download)
    │   ├── VideoUnavailableError   private, removed, age-restricted, region-blocked, live
    │   └── FetchError              network trouble, timeouts, YouTube's bot checks
    │       ├── YouTubeBlockedError "confirm you're not a bot", HTTP 429: the address is blocked
    │       └── YouTubeNotReachedError  failed before any request reached YouTube (DNS, refused)
    ├── ModelError                  embedder weights
    │   ├── WeightsMissingError     files not present; says how to get them
    │   ├── CheckpointError         present but wrong: missing/mis-shaped variables, garbage
    │   └── PrecisionNotCheckedError  bfloat16/int8 asked for, no check passed for the weights
    ├── DownloadError               a verified download failed (unreachable, md5, cut short)
    ├── CatalogError                index directories
    │   ├── IndexNotFoundError      no index at that path
    │   ├── IndexMismatchError      built for another embedder / dimension / pooling
    │   ├── IndexCorruptError       files truncated, checksums wrong, manifest unreadable
    │   └── UnknownItemError        an item id the index does not hold (a forged button)
    ├── SteeringError               words to steer by
    │   ├── BadWordsError           empty, too long, too many, or with control characters
    │   ├── UnknownWordError        a word the catalog's vocabulary lacks (names the nearest)
    │   └── NoVocabularyError       a catalog with neither labels nor tags (VGGish library)
    └── ApiKeyError                 an API key asked for badly: a bad or taken name, an
                                    unknown name, limits out of range (``musicrec api-key``)

The CLI catches ``MusicrecError`` and prints ``str(error)`` on one line; the Discord bot (a
separate package) shows it as an ephemeral reply. So messages are short, plain sentences
with no traceback jargon, and they name musicrec, never "the bot": a person at the command
line reads them too.
"""

from __future__ import annotations


class MusicrecError(Exception):
    """Base class; ``str(error)`` is a complete, user-readable sentence."""


class AudioError(MusicrecError):
    """The input could not be turned into an audio clip."""


class NotAudioError(AudioError):
    """The input holds no audio stream (an image, text, a video without sound)."""


class AudioTooShortError(AudioError):
    """The audio is shorter than the embedder's shortest frame."""


class UnreadableAudioError(AudioError):
    """ffmpeg found the input but could not decode it (corrupt or truncated)."""


class DecodeTimeoutError(AudioError):
    """Decoding ran past its time limit."""


class SourceError(MusicrecError):
    """Fetching an attachment or a link failed or was refused."""


class LinkRejectedError(SourceError):
    """The text is not a YouTube video link musicrec will fetch."""


class InputTooLargeError(SourceError):
    """The input is over a configured size cap."""


class VideoUnavailableError(SourceError):
    """YouTube will not serve the video (private, removed, age-restricted, live, ...)."""


class FetchError(SourceError):
    """A network problem, time-out or YouTube bot check while fetching a source."""


class YouTubeBlockedError(FetchError):
    """YouTube refused musicrec's address (a bot check or rate limiting), not one video."""


class YouTubeNotReachedError(FetchError):
    """A fetch failed before any request reached YouTube: the name did not resolve, the
    connection (or the proxy's) was refused or unroutable, or yt-dlp could not start. The
    fetch it took from the hourly budget may be given back: YouTube saw nothing."""


class ModelError(MusicrecError):
    """An embedder's weights are missing or unusable."""


class WeightsMissingError(ModelError):
    """Weight files are absent; the message says which files and where to put them."""


class CheckpointError(ModelError):
    """A checkpoint is present but unusable; the message names the offending variables."""


class PrecisionNotCheckedError(ModelError):
    """bfloat16 or int8 was asked for, but no agreement check passed for these weight files."""


class DownloadError(MusicrecError):
    """A verified download failed; nothing partial is left behind."""


class CatalogError(MusicrecError):
    """An index directory cannot be built or used."""


class IndexNotFoundError(CatalogError):
    """No index exists at the given path."""


class IndexMismatchError(CatalogError):
    """The index was built for another embedder, dimension or pooling rule."""


class IndexCorruptError(CatalogError):
    """The index files are truncated, fail their checksums or the manifest is unreadable."""


class UnknownItemError(CatalogError):
    """The index holds no item with that id."""


class SteeringError(MusicrecError):
    """Words to steer a recommendation by cannot be used."""


class BadWordsError(SteeringError):
    """Words refused before any look-up: empty, too long, too many, or with control
    characters."""


class UnknownWordError(SteeringError):
    """A word the catalog's vocabulary does not hold.

    Attributes:
        word: the word as given (markdown and mentions included: a caller showing it in
            Discord renders it as outside text).
        nearest: the closest words the vocabulary does hold, best first (may be empty).
    """

    def __init__(self, message: str, word: str, nearest: tuple[str, ...]) -> None:
        super().__init__(message)
        self.word = word
        self.nearest = nearest


class NoVocabularyError(SteeringError):
    """The catalog has neither labels nor tags, so no word can steer it."""


class NoItemsError(SteeringError):
    """No item of the catalog carries all the words asked for."""


class ContradictoryWordsError(SteeringError):
    """Steering words that no item could satisfy together: a ``more`` word whose every
    label or tag a ``less`` word (or a negated word) rules out, e.g. more "jazz", less
    "jazz"."""


class SessionError(MusicrecError):
    """A listening session (a mix or a path) cannot be made as asked: a length or step
    count out of range, no usable seed, or a path's two ends the same track."""


class ApiKeyError(MusicrecError):
    """An API key cannot be added or revoked as asked: a name that is empty, too long, holds
    control characters or is taken; a name no key has; limits out of their ranges."""
