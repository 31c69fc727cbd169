"""The fake Discord's strict markdown reader sees what a Discord client would make active.

It is the oracle of the untrusted-text tests, so it must catch each construct, including
the two phishing titles of issue 18 after ``discord.utils.escape_markdown`` (the escaping
the bot used before), and must read backslash escapes as Discord does.
"""

from __future__ import annotations

import pytest
from discord.utils import escape_markdown

from tests.fake_discord.markdown import field_rows, payload_links, read_payload, render
from tests.helpers.hostile_text import BREAKOUT, NITRO


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("[a](https://evil.example/x)", "https://evil.example/x"),
        ("see https://evil.example/x.", "https://evil.example/x"),
        ("xhttps://evil.example", "xhttps://evil.example"),
        ("<https://evil.example/x>", "https://evil.example/x"),
        ("steam://run/1", "steam://run/1"),
        ("join discord.gg/abc", "discord.gg/abc"),
        ("www.evil.example/login", "www.evil.example/login"),
        (r"\[a](https://evil.example/x)", "https://evil.example/x"),  # bare URL left
    ],
)
def test_links_are_found(text: str, link: str) -> None:
    assert render(text).links == [link]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("<@80351110224678912>", "user"),
        ("<@!80351110224678912>", "user"),
        ("<@&165511591545143296>", "role"),
        ("<#103735883630395392>", "channel"),
        ("</airhorn:816437322781949972>", "slash command"),
        ("<a:b1nzy:392938283556143104>", "custom emoji"),
        ("<t:1618953630:d>", "timestamp"),
        ("<id:customize>", "guild navigation"),
        ("hi @everyone", "everyone"),
        ("hi @here", "everyone"),
    ],
)
def test_mentions_and_tags_are_found(text: str, kind: str) -> None:
    (tag,) = render(text).mentions
    assert tag.startswith(kind)


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("# Big", "heading", "Big"),
        ("-# small", "subtext", "small"),
        ("> quoted", "quote", "quoted"),
        ("1. first", "list", "first"),
        ("- item", "list", "item"),
        ("**b**", "bold", "b"),
        ("__u__", "underline", "u"),
        ("~~s~~", "strike", "s"),
        ("*i*", "italic", "i"),
        ("_i_", "italic", "i"),
        ("||secret||", "spoiler", "secret"),
        ("`co*de*`", "code", "co*de*"),
        ("```\nblock\n```", "code block", "\nblock\n"),
    ],
)
def test_formatting_is_found(text: str, kind: str, shown: str) -> None:
    rendering = render(text)
    assert rendering.formatting == [kind] and rendering.visible == shown


def test_escapes_show_the_character_and_start_nothing() -> None:
    rendering = render(r"\[a\]\(https\:\/\/evil\.example\) \<\@1\> \@everyone \*\*b\*\* \\")
    assert not rendering.active
    assert rendering.visible == "[a](https://evil.example) <@1> @everyone **b** " + "\\"
    assert render(r"\a").visible == r"\a"  # a backslash before a letter stays


def test_the_old_escaping_leaves_both_reported_links_working() -> None:
    assert "https://evil.example/login" in render(escape_markdown(NITRO)).links
    heard = f"[{escape_markdown(BREAKOUT)}](https://www.youtube.com/watch?v=a)"
    assert render(heard).links[0] == "https://evil.example/login"


def test_a_payload_is_read_surface_by_surface() -> None:
    payload = {
        "content": "[a](https://c.example)",
        "embeds": [
            {
                "title": "<@1>",
                "description": "**d**",
                "fields": [{"name": "n\\.", "value": "v https://v.example"}],
                "footer": {"text": "[f](https://f.example)"},
            }
        ],
        "components": [{"type": 1, "components": [{"type": 2, "label": "[l](https://l.example)"}]}],
    }
    surfaces = {reading.where: reading for reading in read_payload(payload)}
    assert surfaces["embeds[0].title"].rendering.mentions == ["user <@1>"]
    assert surfaces["embeds[0].description"].rendering.formatting == ["bold"]
    assert not surfaces["embeds[0].footer"].rendering.active  # plain surfaces stay text
    assert not surfaces["components[0][0].label"].rendering.active
    assert payload_links(payload) == ["https://c.example", "https://v.example"]
    assert field_rows(payload["embeds"][0]) == {"n.": "v https://v.example"}
