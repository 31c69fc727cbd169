"""The rendering of outside text per Discord surface (:mod:`bot.untrusted_text`).

Each surface's output is read back through the fake Discord's strict markdown reader
(:mod:`tests.fake_discord.markdown`); the property tests feed random and adversarial
strings built from markdown, mention and bidi fragments.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.untrusted_text import Surface, inert, link_target
from tests.fake_discord.markdown import render
from tests.helpers.hostile_text import HOSTILE, shown_form


@pytest.mark.parametrize("surface", list(Surface))
@pytest.mark.parametrize("text", [*HOSTILE, "[" * 3000, "\\" * 3000, "é" * 3000])
def test_each_surface_fits_its_limit_after_escaping(surface: Surface, text: str) -> None:
    shown = inert(text, surface)
    assert 0 < len(shown) <= surface.limit
    if surface.renders_markdown:
        trailing = len(shown) - len(shown.rstrip("\\"))
        assert trailing % 2 == 0  # never a lone backslash escaping what follows
        assert not render(shown).active
    else:
        assert shown.count("\\") <= text.count("\\")  # no escape added


@pytest.mark.parametrize("surface", [s for s in Surface if s.renders_markdown])
def test_a_cut_keeps_whole_escapes(surface: Surface) -> None:
    for length in range(surface.limit - 5, surface.limit + 5):
        shown = inert("[" * length, surface)
        assert len(shown) <= surface.limit
        assert not render(shown).active
        assert set(render(shown).visible) <= {"[", "…"}


FRAGMENTS = [
    "[",
    "]",
    "(",
    ")",
    "](",
    "http://",
    "https://",
    "steam://",
    "www.",
    "discord.gg/",
    "evil.example",
    "<",
    ">",
    "<@",
    "<@&",
    "<#",
    "</",
    "<t:",
    "<:a:",
    ":1>",
    "@everyone",
    "@here",
    "||",
    "```",
    "`",
    "# ",
    "## ",
    "-# ",
    "> ",
    ">>> ",
    "- ",
    "* ",
    "1. ",
    "**",
    "__",
    "_",
    "*",
    "~~",
    "\\",
    "\n",
    "\t",
    " ",
    "x",
    "é",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200e",
    "\ufeff",
    "\x00",
    "\x1b",
    "1",
    "a",
]
hostile_text = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.text(max_size=60),
)


def assert_shows(visible: str, text: str) -> None:
    """``visible`` is the shown form of ``text``, or a prefix of it ending in an ellipsis."""
    expected = shown_form(text)
    if visible != expected:
        assert visible.endswith("…") and expected.startswith(visible[:-1].rstrip())


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(text=hostile_text, surface=st.sampled_from([s for s in Surface if s.renders_markdown]))
def test_property_no_hostile_text_becomes_active_and_none_is_lost(
    text: str, surface: Surface
) -> None:
    shown = inert(text, surface)
    assert len(shown) <= surface.limit
    rendering = render(shown)
    assert not rendering.active, (shown, rendering)
    assert_shows(rendering.visible, text)


@settings(max_examples=200, deadline=None, database=None)
@given(text=hostile_text, surface=st.sampled_from([s for s in Surface if not s.renders_markdown]))
def test_property_plain_surfaces_keep_the_text_without_escapes(text: str, surface: Surface) -> None:
    shown = inert(text, surface)
    assert len(shown) <= surface.limit
    assert_shows(shown, text)


def test_link_targets_over_512_characters_or_not_https_are_dropped() -> None:
    assert link_target("https://www.youtube.com/watch?v=abc&t=1s") is not None
    assert link_target("https://example.com/" + "a" * 600) is None
    assert link_target("javascript:alert(1)") is None
    assert link_target(None) is None
