"""The check that must pass before a reduced-precision embedder runs instead of float32.

Mental model: the project makes music-like clips from seeds (:mod:`.check_clips`), embeds
them with the float32 network and with the bfloat16 or int8 model made from the same weight
files, and measures how far apart the results are (:mod:`.agreement`);
:mod:`.vggish_check` (bfloat16, int8) and :mod:`.musicnn_check` (bfloat16, which must also
be faster on this CPU) run that, and :mod:`.outcome` records a pass for the precision,
those files' sha256s and this CPU, which is what lets ``MUSICREC_PRECISION`` load the model
(:mod:`musicrec_core.embedders.checked`). The command is ``musicrec quantize check``.
"""
