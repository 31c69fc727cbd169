"""Settings: environment and .env, one-line refusals, id lists, the token kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import load_settings
from musicrec_core.embedders import WeightFiles
from musicrec_core.embedders.precision import Precision
from musicrec_core.service.settings import ConfigurationError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("MUSICREC_INDEX_DIR", raising=False)


def test_missing_token_is_one_sentence_saying_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(tmp_path / "absent.env")
    message = str(caught.value)
    assert message.startswith("DISCORD_TOKEN is not set")
    assert "Developer Portal" in message and "\n" not in message


def test_values_come_from_the_env_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "bot.env"
    env_file.write_text(
        "DISCORD_TOKEN=from.file.token\n"
        "MUSICREC_INDEX_DIR=/srv/index\n"
        "MUSICREC_OWNER_IDS=1, 2,3\n"
        "MUSICREC_LINK_REPLIES=true\n"
        "MUSICREC_LOG_FILE=\n"
        "MUSICREC_QUEUE_SIZE=4\n"
    )
    monkeypatch.setenv("MUSICREC_QUEUE_SIZE", "9")
    settings = load_settings(env_file)
    assert settings.token == "from.file.token"
    assert settings.index_dir == Path("/srv/index")
    assert settings.owner_ids == frozenset({1, 2, 3})
    assert settings.link_replies is True
    assert settings.log_file is None
    assert settings.queue_size == 9


def test_the_token_never_appears_in_the_settings_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "very.secret.token")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", str(tmp_path))
    settings = load_settings(None)
    assert "very.secret.token" not in repr(settings)
    assert "very.secret.token" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MUSICREC_QUEUE_SIZE", "0", "MUSICREC_QUEUE_SIZE is invalid"),
        ("MUSICREC_OWNER_IDS", "12,abc", "MUSICREC_OWNER_IDS is invalid (write Discord ids"),
        ("MUSICREC_LOG_LEVEL", "LOUD", "MUSICREC_LOG_LEVEL is invalid (use DEBUG"),
        ("DISCORD_TOKEN", "two words", "DISCORD_TOKEN is invalid (it is empty or contains"),
        ("MUSICREC_YOUTUBE_MEMBER_SHARE", "10", "MUSICREC_YOUTUBE_MEMBER_SHARE is invalid (write"),
        ("MUSICREC_YOUTUBE_SERVER_SHARE", "0%", "MUSICREC_YOUTUBE_SERVER_SHARE is invalid (write"),
        ("MUSICREC_YOUTUBE_SERVER_SHARE", "half", "MUSICREC_YOUTUBE_SERVER_SHARE is invalid"),
        ("MUSICREC_YOUTUBE_MEMBER_SHARE", "nan", "MUSICREC_YOUTUBE_MEMBER_SHARE is invalid"),
        ("MUSICREC_KEY_YIELD_S", "-1", "MUSICREC_KEY_YIELD_S is invalid (Input should be"),
        ("MUSICREC_KEY_YIELD_S", "soon", "MUSICREC_KEY_YIELD_S is invalid"),
    ],
)
def test_invalid_values_name_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None)
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("member", "server", "expected"),
    [(None, None, (0.1, 0.5)), ("5%", "0.25", (0.05, 0.25)), (" 100% ", "1", (1.0, 1.0))],
)
def test_youtube_shares_are_fractions_or_percentages(
    monkeypatch: pytest.MonkeyPatch,
    member: str | None,
    server: str | None,
    expected: tuple[float, float],
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    for name, value in (("MEMBER", member), ("SERVER", server)):
        if value is not None:
            monkeypatch.setenv(f"MUSICREC_YOUTUBE_{name}_SHARE", value)
    settings = load_settings(None)
    assert (settings.youtube_member_share, settings.youtube_server_share) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_unset_index_dir_means_the_default_catalog(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    if value is not None:
        monkeypatch.setenv("MUSICREC_INDEX_DIR", value)
    assert load_settings(None).index_dir is None


def test_env_example_documents_every_setting() -> None:
    from bot.settings import Settings, env_name

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    for field in Settings.model_fields:
        name = env_name(field)
        assert f"\n{name}=" in example or f"\n# {name}=" in example, name


def test_uploads_are_read_in_decode_workers_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 59)
    assert load_settings(None).decode_in_workers is True
    monkeypatch.setenv("MUSICREC_DECODE_IN_WORKERS", "false")
    assert load_settings(None).decode_in_workers is False


def test_links_are_fetched_in_ytdlp_workers_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 59)
    assert load_settings(None).ytdlp_in_workers is True
    monkeypatch.setenv("MUSICREC_YTDLP_IN_WORKERS", "false")
    assert load_settings(None).ytdlp_in_workers is False


def test_precision_is_float32_unless_int8_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a.b.c")
    monkeypatch.setenv("MUSICREC_INDEX_DIR", str(tmp_path))
    monkeypatch.delenv("MUSICREC_PRECISION", raising=False)
    assert load_settings(None).weight_files.precision is Precision.FLOAT32
    monkeypatch.setenv("MUSICREC_PRECISION", "INT8")
    weights = load_settings(None).weight_files
    assert weights == WeightFiles(None, None, Precision.INT8)
    monkeypatch.setenv("MUSICREC_PRECISION", "int4")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(None)
    assert str(caught.value).startswith("MUSICREC_PRECISION is invalid")
