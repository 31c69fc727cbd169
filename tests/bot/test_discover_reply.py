"""A /discover page reads as Discord shows it: hostile titles, file names and labels inert,
the only links the bot's own, every limit kept."""

from __future__ import annotations

from bot.discover_reply import discover_reply
from musicrec_core.catalog.index import ItemMeta
from musicrec_core.steering import Vocabulary
from musicrec_core.steering.discovery import Discovered, Discovery
from tests.fake_discord.limits import message_violations
from tests.fake_discord.markdown import payload_links, payload_mentions, read_payload
from tests.helpers.hostile_text import BREAKOUT, NITRO

MENTION = "<@123456789012345678> @everyone"


def page(items: int) -> Discovery:
    resolutions = tuple(Vocabulary.for_tags("mtt").resolve_all(["Piano", "no vocals"]))
    found = []
    for number in range(items):
        video = number % 2 == 0
        meta = ItemMeta(
            group=f"vid{number:08d}" if video else f"{number:064x}",
            start_s=30.0,
            end_s=40.0,
            labels=(NITRO, MENTION) * 4,
            title=BREAKOUT * 20 if video else None,
            source=None if video else f"/home/me/{MENTION} {NITRO}.flac",
            kind="youtube" if video else "file",
        )
        found.append(Discovered(number, meta))
    return Discovery(resolutions, 1234, "track", 7, tuple(found))


def test_a_hostile_page_is_inert_and_within_limits() -> None:
    embed, view = discover_reply(page(10), fingerprint="0123abcd", page=7, words="ab12+1")
    payload = {"embeds": [embed.to_dict()], "components": view.to_components()}
    assert message_violations(payload) == []
    assert payload_mentions(payload) == []
    assert {link.split("&")[0] for link in payload_links(payload)} == {
        f"https://www.youtube.com/watch?v=vid{n:08d}" for n in range(0, 10, 2)
    }
    shown = "\n".join(reading.rendering.visible for reading in read_payload(payload))
    assert "/home/me" not in shown
    assert "Words: Piano (= piano), no vocals (= no vocals, no vocal)" in shown
    assert "1234 tracks carry all the words; showing 10 in a shuffled order (page 7" in shown
    custom_ids = [b["custom_id"] for row in payload["components"] for b in row["components"]]
    assert custom_ids[0] == "musicrec:more:0123abcd:0:10:ab12+1"
