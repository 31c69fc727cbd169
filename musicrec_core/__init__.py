"""musicrec_core: recommend music by how it sounds.

The pipeline, one module per stage::

    sources/ (attachments, YouTube links)  ->  audio/ (decode a 10-s window)
      -> clip.Clip  ->  embedders/ (VGGish, musicnn)  ->  catalog/ (Annoy index + metadata)
      -> recommender.py  ->  CLI (cli/) or the Discord bot (bot/, a separate package)

Nothing in this package imports discord.
"""

from musicrec_core.blas_threads import limit_idle_spin

limit_idle_spin()  # before any module of the package imports numpy

__version__ = "0.1.0"
