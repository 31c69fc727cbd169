"""What yt-dlp itself says about its JavaScript runtime and challenge solver scripts.

musicrec does not guess from its own settings: it starts yt-dlp the way a fetch does (a
``python -I`` child with the fetch's environment and memory limit, see
:mod:`musicrec_core.child_process`), hands it the same ``js_runtimes`` option, and reads
back what yt-dlp found (:mod:`._ytdlp_probe`): the runtime's path and version ("JS
runtimes: deno-2.9.8" in ``yt-dlp -v``), and whether the runtime's challenge provider is
available with the solver scripts it loads (from the ``yt-dlp-ejs`` package, never
downloaded: musicrec leaves ``remote_components`` off). No network is used.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from musicrec_core.child_process import spawn_ytdlp_script
from musicrec_core.doctor.report import Finding
from musicrec_core.js_runtime import ytdlp_js_runtimes

PROBE_TIMEOUT_S = 60.0
"""Longest the probe may take (importing yt-dlp, running the runtime's ``--version``)."""
SETUP_HINT = "run scripts/setup.sh, which installs yt-dlp[default] (yt-dlp-ejs) and Deno"
"""The fix for a missing runtime or solver in a musicrec checkout."""

_PROBE = Path(__file__).with_name("_ytdlp_probe.py")


class ProbeError(Exception):
    """yt-dlp could not be asked (it is missing, crashed or hung); the message says how."""


def probe_ytdlp(js_runtimes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Ask yt-dlp, in a child process, what it finds with the option ``js_runtimes``.

    Returns the probe's report (see :mod:`._ytdlp_probe`): ``version``, ``runtimes``,
    ``providers`` and ``debug`` (yt-dlp's own ``-v`` lines).

    Raises:
        ProbeError: the child failed, timed out or answered something else.
    """
    request = json.dumps({"options": {"js_runtimes": js_runtimes}}) + "\n"
    with tempfile.TemporaryDirectory(prefix="musicrec-doctor-") as workdir:
        process = spawn_ytdlp_script(_PROBE, cwd=Path(workdir))
        try:
            stdout, stderr = process.communicate(request, timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ProbeError(f"yt-dlp did not answer within {PROBE_TIMEOUT_S:.0f} s") from None
    last = (stdout.strip().splitlines() or [""])[-1]
    try:
        report = json.loads(last)
    except json.JSONDecodeError:
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise ProbeError(f"yt-dlp could not be started: {tail}") from None
    if process.returncode != 0 or not isinstance(report, dict):
        raise ProbeError("yt-dlp answered the probe with an error")
    return report


def check_ytdlp_solver(js_runtime: str | None) -> list[Finding]:
    """Two findings from yt-dlp itself: the JS runtime it will use, and the solver scripts.

    Args:
        js_runtime: the runtime the operator named (None: the Deno musicrec installs).
    """
    try:
        option = ytdlp_js_runtimes(js_runtime)
    except ValueError as exc:
        return [Finding.fix("JS runtime", f"{exc}.")]
    try:
        report = probe_ytdlp(option)
    except ProbeError as exc:
        return [Finding.fix("yt-dlp", f"{exc}; {SETUP_HINT}.")]
    (name,) = option
    return [_runtime_finding(name, report), _solver_finding(name, report)]


def _reported(report: dict[str, Any], prefix: str) -> str:
    """yt-dlp's own debug line starting with ``prefix``, quoted, or an empty string."""
    lines = [line for line in report.get("debug", []) if line.startswith(prefix)]
    return f' (yt-dlp -v: "{lines[0]}")' if lines else ""


def _runtime_finding(name: str, report: dict[str, Any]) -> Finding:
    said = _reported(report, "JS runtimes:")
    found = report.get("runtimes", {}).get(name)
    if not found:
        install = SETUP_HINT if name == "deno" else f"install {name} or unset the runtime setting"
        return Finding.fix(
            "JS runtime",
            f"yt-dlp finds no {name}{said}, so YouTube links will fail; {install}.",
        )
    if not found.get("supported", True):
        return Finding.fix(
            "JS runtime",
            f"yt-dlp {report.get('version')} does not support {name} {found['version']}{said}; "
            f"install a newer {name}, or unset MUSICREC_YTDLP_JS_RUNTIME to use the bundled Deno.",
        )
    return Finding.ok(
        "JS runtime",
        f"yt-dlp {report.get('version')} uses {name} {found['version']} at {found['path']}{said}",
    )


def _solver_finding(name: str, report: dict[str, Any]) -> Finding:
    provider = report.get("providers", {}).get(name)
    if not isinstance(provider, dict) or not provider.get("available"):
        return Finding.fix(
            "challenge solver",
            f"yt-dlp's {name} challenge solver is unavailable (it needs the runtime above); "
            f"{SETUP_HINT}.",
        )
    scripts = provider.get("scripts")
    if not scripts:
        reason = provider.get("error", "no solver scripts found")
        return Finding.fix("challenge solver", f"yt-dlp reports: {reason}; {SETUP_HINT}.")
    described = ", ".join(
        f"{kind} v{script['version']} from the {script['source']}"
        for kind, script in sorted(scripts.items())
    )
    return Finding.ok("challenge solver", f"yt-dlp's {name} solver loads EJS scripts: {described}")
