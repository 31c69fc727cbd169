"""``musicrec doctor`` on a healthy set-up, then with each check broken in turn.

The healthy set-up: ffmpeg on PATH, the bundled Deno and the EJS scripts, musicnn's real
weights installed in the test's cache (tests/helpers/musicnn.py), and a small musicnn MTT
index built here. VGGish's weights are absent, which a musicnn catalog does not need.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicrec_core.cli import main
from musicrec_core.doctor import (
    DoctorInputs,
    Finding,
    Status,
    check_private_url,
    exit_status,
    run_doctor,
)
from musicrec_core.doctor.checks import check_youtube_blocks
from musicrec_core.embedders.base import EmbedderId
from musicrec_core.embedders.musicnn import weights as musicnn_weights
from musicrec_core.sources.blocks import BlockNotice
from tests.helpers.musicnn import install_weights
from tests.helpers.small_index import MUSICNN_MTT as MTT
from tests.helpers.small_index import build_small_index as build_index

NETSCAPE = "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tPREF\tf1=1\n"


@pytest.fixture
def healthy(tmp_path: Path) -> DoctorInputs:
    install_weights()
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(NETSCAPE, encoding="utf-8")
    return DoctorInputs(
        index_dir=build_index(tmp_path / "index", MTT),
        cookies=cookies,
        proxy="socks5://user:s3cret@127.0.0.1:1080",
    )


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def test_a_healthy_set_up_is_all_ok(healthy: DoctorInputs, capsys: pytest.CaptureFixture) -> None:
    findings = by_check(run_doctor(healthy))
    assert list(findings) == [
        "ffmpeg",
        "ffprobe",
        "JS runtime",
        "challenge solver",
        "cookies",
        "proxy",
        "YouTube blocks",
        "index",
        "vggish weights",
        "musicnn mtt weights",
        "musicnn msd weights",
    ]
    notes = {name for name, finding in findings.items() if finding.status is Status.NOTE}
    assert notes == {"vggish weights"}
    assert all(f.status is Status.OK for name, f in findings.items() if name not in notes)
    assert findings["ffmpeg"].message.startswith("ffmpeg ")
    assert 'yt-dlp -v: "JS runtimes: deno-' in findings["JS runtime"].message
    solver = findings["challenge solver"].message
    assert "lib v" in solver and "core v" in solver and "from the python package" in solver
    assert "6 items" in findings["index"].message and "musicnn" in findings["index"].message
    assert "s3cret" not in findings["proxy"].message

    argv = ["doctor", "--index", str(healthy.index_dir), "--cookies", str(healthy.cookies)]
    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert {check["status"] for check in document["checks"]} == {"ok", "note"}
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[0].startswith("OK    ffmpeg: ffmpeg ")
    assert lines[8].startswith("NOTE  vggish weights: not installed")


def broken(inputs: DoctorInputs, check: str) -> Finding:
    """Run the doctor, assert it fails, and return the one FIX finding, named ``check``."""
    findings = run_doctor(inputs)
    assert exit_status(findings) == 1
    fixes = [finding for finding in findings if finding.status is Status.FIX]
    assert [finding.check for finding in fixes] == [check]
    return fixes[0]


@pytest.mark.filterwarnings("ignore:Couldn.t find ffprobe:RuntimeWarning")
def test_missing_ffmpeg(
    healthy: DoctorInputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    finding = broken(healthy, "ffmpeg")
    assert "ffmpeg" in finding.message and "install" in finding.message.lower()


def test_missing_js_runtime(healthy: DoctorInputs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "musicrec_core.js_runtime.bundled_deno", lambda: Path("/nonexistent/bin/deno")
    )
    findings = run_doctor(healthy)
    assert exit_status(findings) == 1
    fixes = by_check([f for f in findings if f.status is Status.FIX])
    assert list(fixes) == ["JS runtime", "challenge solver"]
    assert "yt-dlp finds no deno" in fixes["JS runtime"].message
    assert "scripts/setup.sh" in fixes["JS runtime"].message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        ('[{"domain": ".youtube.com"}]', "it is JSON"),
        ("not a cookie line\n", "not a Netscape cookie line"),
    ],
)
def test_unusable_cookies(
    healthy: DoctorInputs, tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "other-cookies.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    finding = broken(DoctorInputs(**{**vars(healthy), "cookies": path}), "cookies")
    assert reason in finding.message and "unusable" in finding.message


def test_cookies_in_a_folder(healthy: DoctorInputs, tmp_path: Path) -> None:
    finding = broken(DoctorInputs(**{**vars(healthy), "cookies": tmp_path}), "cookies")
    assert "folder" in finding.message


def test_bad_proxy(healthy: DoctorInputs) -> None:
    inputs = DoctorInputs(**{**vars(healthy), "proxy": "ftp://user:s3cret@proxy:21"})
    finding = broken(inputs, "proxy")
    assert "SCHEME://" in finding.message and "s3cret" not in finding.message


def test_corrupt_weight_file(healthy: DoctorInputs) -> None:
    data = musicnn_weights.variant_dir("mtt") / "musicnn.data-00000-of-00001"
    data.write_bytes(b"\0" * data.stat().st_size)
    findings = run_doctor(healthy)
    assert exit_status(findings) == 1
    fixes = by_check([f for f in findings if f.status is Status.FIX])
    assert list(fixes) == ["index", "musicnn mtt weights"]
    assert "damaged" in fixes["musicnn mtt weights"].message
    assert "models download musicnn" in fixes["musicnn mtt weights"].message


def test_corrupt_weights_nobody_needs_are_a_note(healthy: DoctorInputs) -> None:
    data = musicnn_weights.variant_dir("msd") / "musicnn.index"
    data.write_bytes(b"garbage")
    findings = by_check(run_doctor(healthy))
    assert findings["musicnn msd weights"].status is Status.NOTE
    assert "damaged" in findings["musicnn msd weights"].message
    assert exit_status(list(findings.values())) == 0


@pytest.mark.parametrize(
    ("embedder", "words"),
    [
        (EmbedderId("vggish", "vggish-audioset-v1", 128), "(see 'vggish weights')"),
        (EmbedderId("musicnn", "musicnn-mtt-9.9.9", 200, variant="mtt"), "rebuild the index"),
        (EmbedderId("wav2vec", "w-1", 16), "no embedder called 'wav2vec'"),
    ],
)
def test_an_index_for_another_embedder(
    healthy: DoctorInputs, tmp_path: Path, embedder: EmbedderId, words: str
) -> None:
    index = build_index(tmp_path / "other-index", embedder)
    findings = run_doctor(DoctorInputs(**{**vars(healthy), "index_dir": index}))
    assert exit_status(findings) == 1
    fixes = by_check([f for f in findings if f.status is Status.FIX])
    assert "index" in fixes and words in fixes["index"].message
    assert str(embedder) in fixes["index"].message
    if embedder.name == "vggish":  # the index makes VGGish's weights needed
        assert "VGGish weights are missing" in fixes["vggish weights"].message


def test_no_index_there(healthy: DoctorInputs, tmp_path: Path) -> None:
    finding = broken(DoctorInputs(**{**vars(healthy), "index_dir": tmp_path / "none"}), "index")
    assert str(tmp_path / "none") in finding.message


@pytest.mark.parametrize(
    ("url", "secure", "plain", "status"),
    [
        ("https://discord.com/api/v10", "https", "http", Status.OK),
        ("http://127.0.0.1:8080/api", "https", "http", Status.OK),
        ("ws://localhost:9000/", "wss", "ws", Status.OK),
        ("http://discord.com/api/v10", "https", "http", Status.FIX),
        ("ws://gateway.discord.gg/", "wss", "ws", Status.FIX),
        ("not a url", "wss", "ws", Status.FIX),
    ],
)
def test_discord_urls_must_be_secure(url: str, secure: str, plain: str, status: Status) -> None:
    finding = check_private_url("Discord URL", url, secure=secure, plain=plain)
    assert finding.status is status
    if status is Status.FIX:
        assert f"use a {secure}:// URL" in finding.message


def test_an_insecure_url_from_the_caller_fails_the_run(healthy: DoctorInputs) -> None:
    insecure = check_private_url(
        "Discord API URL", "http://discord.com/api", secure="https", plain="http"
    )
    findings = run_doctor(healthy, extra=[insecure])
    assert findings[-1] == insecure and exit_status(findings) == 1
    assert insecure.line().startswith("FIX   Discord API URL: use a https:// URL")


def test_cli_exit_status_and_json_when_broken(
    healthy: DoctorInputs, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["doctor", "--index", str(healthy.index_dir), "--proxy", "socks5://", "--json"]
    assert main(argv) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    statuses = {check["check"]: check["status"] for check in document["checks"]}
    assert statuses["proxy"] == "fix" and statuses["index"] == "ok"


def test_a_recent_youtube_block_is_a_note_naming_the_fix() -> None:
    assert check_youtube_blocks().status is Status.OK  # nothing recorded
    BlockNotice(clock=lambda: 1_700_000_000.0).record("YouTube asked for a sign-in.")
    finding = check_youtube_blocks(now=1_700_000_000.0 + 600)
    assert finding.status is Status.NOTE
    assert "10 min ago: YouTube asked for a sign-in." in finding.message
    assert "MUSICREC_YTDLP_COOKIES" in finding.message and "PO-token" in finding.message
    later = check_youtube_blocks(now=1_700_000_000.0 + 3 * 86_400)
    assert later.status is Status.OK and "3 days ago" in later.message
