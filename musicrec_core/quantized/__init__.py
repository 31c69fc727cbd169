"""The check that must pass before int8 VGGish runs instead of float32.

Mental model: the project makes music-like clips from seeds (:mod:`.check_clips`), embeds
them with float32 VGGish and with the int8 model made from the same weight files, and
measures how far apart the results are (:mod:`.agreement`); :mod:`.vggish_check` runs that
and records a pass for those files' sha256s, which is what lets ``MUSICREC_PRECISION=int8``
load the model (:mod:`musicrec_core.embedders.vggish.int8`). The command is
``musicrec quantize check``.
"""
