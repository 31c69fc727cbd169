"""``musicrec api-key add|list|revoke``: the key printed once, listings without secrets,
revocation, and bad input as one line and exit 1."""

from __future__ import annotations

import json

import pytest

from musicrec_core.api.key_limits import KeyLimits
from musicrec_core.api.keys import KEY_PREFIX, ApiKeyStore
from musicrec_core.cli import main


def add(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["api-key", "add", *argv]) == 0
    captured = capsys.readouterr()
    assert "shown only this once" in captured.err
    return captured.out.strip()


def list_json(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["api-key", "list", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["keys"]


def test_add_prints_only_the_key_which_then_opens_the_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = add(
        capsys, "jukebox", "--rate", "5", "--burst", "20", "--inflight", "8",
        "--youtube-share", "0.5",
    )  # fmt: skip
    assert key.startswith(KEY_PREFIX) and "\n" not in key
    found = ApiKeyStore().lookup(key)
    assert found is not None and found.name == "jukebox"
    assert found.limits == KeyLimits(rate=5.0, burst=20, inflight=8, youtube_share=0.5)
    assert ApiKeyStore().lookup(add(capsys, "defaults")).limits == KeyLimits()


def test_list_shows_names_limits_and_times_never_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["api-key", "list"]) == 0
    assert "No API keys yet" in capsys.readouterr().out
    first = add(capsys, "jukebox", "--rate", "0.5")
    second = add(capsys, "media server")
    assert main(["api-key", "revoke", "jukebox"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["api-key", "list"]) == 0
    text = capsys.readouterr().out
    header, jukebox, media = text.splitlines()
    assert header.split()[:2] == ["NAME", "RATE/S"]
    assert jukebox.startswith("jukebox ") and " 0.5 " in jukebox and jukebox.count("Z") == 2
    assert media.startswith("media server ") and media.rstrip().endswith("-")
    rows = list_json(capsys)
    assert [(r["name"], r["rate"], r["burst"], r["revoked"] is None) for r in rows] == [
        ("jukebox", 0.5, 10, False),
        ("media server", 2.0, 10, True),
    ]
    for key in (first, second):
        secret = key.removeprefix(KEY_PREFIX)
        assert secret not in text and secret not in json.dumps(rows)


def test_a_revoked_key_no_longer_opens_the_store(capsys: pytest.CaptureFixture[str]) -> None:
    key = add(capsys, "jukebox")
    assert main(["api-key", "revoke", "jukebox"]) == 0
    assert ApiKeyStore().lookup(key) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "taken"], "already exists"),
        (["revoke", "ghost"], "no API key named 'ghost'"),
        (["add", "x" * 65], "at most 64 characters"),
        (["add", "tab\there"], "control characters"),
        (["add", "esc\x1b[31m"], "control characters"),
        (["add", "n", "--rate", "fast"], "rate must be a number"),
        (["add", "n", "--rate", "0"], "rate must be above 0"),
        (["add", "n", "--burst", "2.5"], "burst must be a whole number"),
        (["add", "n", "--inflight", "0"], "in-flight limit"),
        (["add", "n", "--youtube-share", "2"], "YouTube share"),
        (["add", "n", "--youtube-share", "nan"], "YouTube share"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    add(capsys, "taken")
    assert main(["api-key", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("musicrec: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert "\x1b" not in captured.err and "\t" not in captured.err
    assert [row["name"] for row in list_json(capsys)] == ["taken"]


def test_an_action_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["api-key"])
    assert exit_info.value.code == 2
    assert "ACTION" in capsys.readouterr().err
