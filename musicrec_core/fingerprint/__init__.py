"""Same-recording identification by spectral landmarks (the classic audio fingerprint).

The embedding answers "what sounds like this?"; a noisy phone recording of a library track
moves far from that track in embedding space. Landmarks answer "which recording is this?"
and survive noise, a narrow band and a low bit rate. One module per stage:

- :mod:`.landmarks`: a 16-kHz clip -> spectral peaks -> hashed peak pairs with their times.
- :mod:`.store`: every landmark of a catalog's tracks, sorted by hash, saved beside the
  index and memory-mapped; a vote on (track, time offset) for a query's landmarks.
- :mod:`.identify`: the confidence rule that turns a vote into an identification.

A library build stores the landmarks (``catalog/library/build.py``); the recommender puts
an identified track first (``catalog/identification.py``).
"""

from musicrec_core.fingerprint.identify import MIN_ALIGNED, MIN_MARGIN, Identification, identify
from musicrec_core.fingerprint.landmarks import (
    Landmarks,
    landmarks,
    landmarks_of_peaks,
    spectral_peaks,
)
from musicrec_core.fingerprint.store import STORE_FILES, LandmarkStore, StoredTrack, Votes

__all__ = [
    "MIN_ALIGNED",
    "MIN_MARGIN",
    "STORE_FILES",
    "Identification",
    "LandmarkStore",
    "Landmarks",
    "StoredTrack",
    "Votes",
    "identify",
    "landmarks",
    "landmarks_of_peaks",
    "spectral_peaks",
]
