"""The HTTP server's settings (MUSICREC_API_*) and the anonymous-access rule of its key
check, which a loopback test server cannot exercise for other peers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from musicrec_core.api.auth import CallerGate
from musicrec_core.api.http_errors import ApiError
from musicrec_core.api.keys import ApiKeyStore
from musicrec_core.api.settings import ENV_PREFIX, ApiSettings


def test_settings_default_to_loopback_without_anonymous_access() -> None:
    settings = ApiSettings(_env_file=None)
    assert (settings.host, settings.anonymous_loopback) == ("127.0.0.1", False)
    assert settings.max_upload_bytes == 25 * 1024 * 1024


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSICREC_API_PORT", "9001")
    monkeypatch.setenv("MUSICREC_API_MAX_UPLOAD_MIB", "3")
    monkeypatch.setenv("MUSICREC_API_ANONYMOUS_LOOPBACK", "true")
    settings = ApiSettings(_env_file=None)
    assert (settings.port, settings.max_upload_bytes, settings.anonymous_loopback) == (
        9001,
        3 * 1024 * 1024,
        True,
    )
    monkeypatch.setenv("MUSICREC_API_MAX_CONNECTIONS", "0")
    with pytest.raises(ValidationError, match="max_connections"):
        ApiSettings(_env_file=None)


@pytest.mark.parametrize("peer", ["192.0.2.7", "::ffff:192.0.2.7", "10.0.0.1", None, "unix"])
def test_anonymous_access_is_for_loopback_peers_only(tmp_path: Path, peer: str | None) -> None:
    gate = CallerGate(ApiKeyStore(tmp_path / "keys.sqlite3"), anonymous_loopback=True)
    assert gate.identify(None, "127.0.0.1").anonymous
    assert gate.identify(None, "::1").anonymous
    with pytest.raises(ApiError) as refused:
        gate.identify(None, peer)
    assert (refused.value.status, refused.value.code) == (401, "missing_key")


def test_env_example_documents_every_setting_with_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = (Path(__file__).resolve().parents[3] / ".env.example").read_text()
    shown = {}
    for line in example.splitlines():
        if line.startswith(f"# {ENV_PREFIX}"):
            name, _, value = line[2:].partition("=")
            shown[name] = value
    assert set(shown) == {ENV_PREFIX + field.upper() for field in ApiSettings.model_fields}
    defaults = ApiSettings(_env_file=None)
    for name, value in shown.items():
        if value:  # an empty value stands for None, the default
            monkeypatch.setenv(name, value)
    assert ApiSettings(_env_file=None) == defaults
