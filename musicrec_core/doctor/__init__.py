"""``musicrec doctor``: is this installation ready to serve, and if not, what to do.

Mental model: a list of checks, each taking explicit inputs and returning findings (one
line each: ``OK``, ``NOTE`` or ``FIX`` with what to do; :mod:`.report`), and a runner,
:func:`run_doctor`, that runs them in a fixed order for one :class:`DoctorInputs`. The
command line fills the inputs from its flags and the ``MUSICREC_*`` paths the core reads
(:mod:`musicrec_core.paths`); the bot fills them from its settings at start-up and adds
findings of its own (its Discord URLs), since the core never imports the bot.

Checks, in order: ffmpeg and ffprobe (:mod:`.checks`), the JavaScript runtime and challenge
solver scripts as yt-dlp itself reports them (:mod:`.ytdlp`), the cookies file, the proxy,
when YouTube last blocked musicrec (the bot's marker file; a recent block is a ``NOTE``
with the fix), the index (loadable, built with the embedder the installed weights make) and each
embedder's weights (md5 / sha256 verified). What the configured program needs is a ``FIX``
when broken, and any ``FIX`` makes :func:`~.report.exit_status` non-zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musicrec_core.doctor.checks import (
    check_cookies,
    check_ffmpeg,
    check_index,
    check_private_url,
    check_proxy,
    check_weights,
    check_youtube_blocks,
)
from musicrec_core.doctor.report import Finding, Status, exit_status, format_lines, to_json
from musicrec_core.doctor.ytdlp import check_ytdlp_solver
from musicrec_core.embedders import WeightFiles

__all__ = [
    "DoctorInputs",
    "Finding",
    "Status",
    "check_private_url",
    "exit_status",
    "format_lines",
    "run_doctor",
    "to_json",
]


@dataclass(frozen=True)
class DoctorInputs:
    """What the doctor checks; every field is explicit (None: not configured).

    Attributes:
        index_dir: the index folder served; None skips the index check, and then no
            embedder's weights are needed.
        cookies: yt-dlp's cookies file.
        proxy: yt-dlp's proxy URL (never shown).
        js_runtime: the JavaScript runtime named for yt-dlp (None: the bundled Deno).
        weights: VGGish weight files given explicitly (else the environment / cache).
    """

    index_dir: Path | None = None
    cookies: Path | None = None
    proxy: str | None = None
    js_runtime: str | None = None
    weights: WeightFiles = field(default_factory=WeightFiles)


def run_doctor(inputs: DoctorInputs, extra: Sequence[Finding] = ()) -> list[Finding]:
    """Run every check for ``inputs``; ``extra`` findings (the caller's own) come last."""
    findings = check_ffmpeg()
    findings += check_ytdlp_solver(inputs.js_runtime)
    findings += [check_cookies(inputs.cookies), check_proxy(inputs.proxy)]
    findings.append(check_youtube_blocks())
    needed = None
    if inputs.index_dir is not None:
        index_finding, needed = check_index(inputs.index_dir, inputs.weights)
        findings.append(index_finding)
    findings += check_weights(inputs.weights, needed)
    findings += extra
    return findings
