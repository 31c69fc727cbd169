"""The YouTube challenge solver the set-up installs: yt-dlp finds Deno and the EJS scripts.

What yt-dlp will use is read from yt-dlp itself (its ``-v`` lines and its challenge
providers), never from musicrec's own configuration. Nothing here touches the network.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_core.child_process import YTDLP_MEMORY_LIMIT_BYTES, child_environment, spawn
from musicrec_core.doctor.ytdlp import probe_ytdlp
from musicrec_core.js_runtime import bundled_deno, ytdlp_js_runtimes
from musicrec_core.sources import _ytdlp_worker
from musicrec_core.sources.ytdlp_fetch import YouTubeSettings


@pytest.fixture
def deno() -> Path:
    path = bundled_deno()
    assert path is not None, "the deno package is not installed; run scripts/setup.sh"
    return path


def test_the_bundled_deno_lives_in_this_environment(deno: Path) -> None:
    assert deno.is_file()
    assert Path(sys.prefix) in deno.parents


def test_musicrec_hands_yt_dlp_that_deno_by_path_and_no_remote_components(deno: Path) -> None:
    assert ytdlp_js_runtimes(None) == {"deno": {"path": str(deno)}}
    assert ytdlp_js_runtimes("deno") == {"deno": {"path": str(deno)}}
    assert ytdlp_js_runtimes("node") == {"node": {}}
    with pytest.raises(ValueError, match="unknown JavaScript runtime"):
        ytdlp_js_runtimes("rhino")
    options = YouTubeSettings().ytdlp_options()
    assert options["js_runtimes"] == {"deno": {"path": str(deno)}}
    worker_options = _ytdlp_worker._ydl_options(
        {"workdir": "/tmp/x", "extractors": ["youtube"], "options": options}
    )
    assert worker_options["js_runtimes"] == {"deno": {"path": str(deno)}}
    assert "remote_components" not in worker_options


def test_deno_runs_offline_under_the_fetch_memory_limit(
    deno: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started as yt-dlp's worker starts it: minimal environment, the fetch memory cap."""
    monkeypatch.setenv("DENO_DIR", str(tmp_path / "deno-dir"))
    process = spawn(
        [str(deno), "eval", "--no-remote", "console.log(JSON.stringify({answer: 6 * 7}))"],
        memory_limit_bytes=YTDLP_MEMORY_LIMIT_BYTES,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stdout.strip() == '{"answer":42}'


def test_yt_dlp_verbose_output_names_deno_and_yt_dlp_ejs(deno: Path, tmp_path: Path) -> None:
    """yt-dlp's own ``-v`` header, with the runtime option musicrec passes, and without."""
    version = importlib.metadata.version("deno")
    ejs = importlib.metadata.version("yt-dlp-ejs")
    for extra in ([], ["--js-runtimes", f"deno:{deno}"]):
        run = subprocess.run(
            [sys.executable, "-I", "-m", "yt_dlp", "-v", "--ignore-config", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=child_environment(),
        )
        assert f"[debug] JS runtimes: deno-{version}" in run.stderr, run.stderr
        assert f"yt_dlp_ejs-{ejs}" in run.stderr


def test_yt_dlp_loads_the_ejs_solver_scripts_from_the_package(deno: Path) -> None:
    """yt-dlp's challenge providers, asked in a child as a fetch would ask them."""
    report = probe_ytdlp(ytdlp_js_runtimes(None))
    assert report["runtimes"]["deno"]["path"] == str(deno)
    assert report["runtimes"]["deno"]["supported"] is True
    provider = report["providers"]["deno"]
    assert provider["available"] is True
    ejs = importlib.metadata.version("yt-dlp-ejs")
    for kind in ("lib", "core"):
        assert provider["scripts"][kind] == {
            "version": ejs,
            "source": "python package",
            "variant": "minified",
        }
    assert any(line.startswith("JS runtimes: deno-") for line in report["debug"])
