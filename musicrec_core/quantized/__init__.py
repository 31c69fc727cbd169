"""The check that must pass before bfloat16 or int8 VGGish runs instead of float32.

Mental model: the project makes music-like clips from seeds (:mod:`.check_clips`), embeds
them with float32 VGGish and with the bfloat16 or int8 model made from the same weight
files, and measures how far apart the results are (:mod:`.agreement`); :mod:`.vggish_check`
runs that and records a pass for the precision and those files' sha256s, which is what lets
``MUSICREC_PRECISION`` load the model (:mod:`musicrec_core.embedders.vggish.checked`). The
command is ``musicrec quantize check``.
"""
