"""Every extension loads, and the commands Discord would receive are the intended ones."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import discord

from bot.app import EXTENSIONS, MusicrecBot, build_intents
from bot.word_autocomplete import complete_words
from tests.bot.helpers import make_interaction, make_settings


@contextlib.asynccontextmanager
async def loaded_bot(tmp_path: Path, **overrides: object) -> AsyncIterator[MusicrecBot]:
    """A bot with every extension loaded, never connected (an AutoShardedBot must be
    entered before it can be closed)."""
    async with MusicrecBot(make_settings(tmp_path, **overrides), load_engine=False) as bot:
        for extension in EXTENSIONS:
            await bot.load_extension(extension)
        yield bot


async def test_every_extension_loads_and_defines_the_commands(tmp_path: Path) -> None:
    async with loaded_bot(tmp_path) as bot:
        check_commands(bot)


def check_commands(bot: MusicrecBot) -> None:
    payload = {
        (command["name"], command.get("type", 1)): command
        for command in (c.to_dict(bot.tree) for c in bot.tree.get_commands(type=None))
    }
    assert set(payload) == {
        ("recommend", 1),
        ("discover", 1),
        ("musicrec", 1),
        ("mix", 1),
        ("path", 1),
        ("Find similar music", 3),
    }
    recommend = payload[("recommend", 1)]
    options = {option["name"]: option for option in recommend["options"]}
    assert list(options) == ["file", "link", "start", "count", "more", "less"]
    assert options["file"]["type"] == 11 and not options["file"]["required"]
    for words in ("more", "less"):  # words separated by commas, autocompleted
        assert options[words]["type"] == 3 and options[words]["autocomplete"] is True
        assert options[words]["max_length"] == 100 and not options[words]["required"]
    assert (options["count"]["min_value"], options["count"]["max_value"]) == (1, 10)
    discover = {option["name"]: option for option in payload[("discover", 1)]["options"]}
    assert list(discover) == ["words", "count", "page"]
    assert discover["words"]["required"] and discover["words"]["autocomplete"] is True
    assert (discover["page"]["min_value"], discover["page"]["max_value"]) == (1, 1000)
    mix = {option["name"]: option for option in payload[("mix", 1)]["options"]}
    assert list(mix) == ["file", "file2", "file3", "link", "link2", "count", "more", "less"]
    assert not any(option.get("required") for option in mix.values())
    assert (mix["count"]["min_value"], mix["count"]["max_value"]) == (1, 50)
    assert mix["more"]["autocomplete"] is True and mix["less"]["autocomplete"] is True
    path = {option["name"]: option for option in payload[("path", 1)]["options"]}
    assert list(path) == ["from", "to", "from_file", "to_file", "steps", "more", "less"]
    assert [path[name]["type"] for name in path] == [3, 3, 11, 11, 4, 3, 3]
    assert path["more"] == mix["more"] and path["less"] == mix["less"]
    assert (path["steps"]["min_value"], path["steps"]["max_value"]) == (1, 50)
    admin = payload[("musicrec", 1)]
    assert [option["name"] for option in admin["options"]] == ["reload", "status"]
    assert admin["default_member_permissions"] == discord.Permissions(manage_guild=True).value
    assert admin["dm_permission"] is False  # guild only


def test_intents_ask_for_message_content_only_with_link_replies(tmp_path: Path) -> None:
    quiet = build_intents(make_settings(tmp_path))
    chatty = build_intents(make_settings(tmp_path, link_replies=True))
    assert quiet.guilds and not quiet.message_content and not quiet.guild_messages
    assert chatty.message_content and chatty.guild_messages


async def test_word_autocomplete_offers_nothing_while_starting(tmp_path: Path) -> None:
    async with loaded_bot(tmp_path) as bot:  # no engine: the catalog is not loaded
        assert await complete_words(make_interaction(bot), "ja") == []
