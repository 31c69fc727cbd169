"""The "Mix from #n" buttons of a recommendation reply: where they go, what they carry, and
that they only take the rows left after the links and "More like"."""

from __future__ import annotations

from bot.button_words import MAX_CODE_CHARS
from bot.mix_from import MixFromButton
from bot.views import build_reply
from tests.bot.test_limits import result_set

TEMPLATE = MixFromButton.__discord_ui_compiled_template__


def rows_of(count: int, words: str = "") -> list[list[dict]]:
    result = result_set(count, title="Song", labels=1)
    view = build_reply(result, heading="H", fingerprint="0123abcd", count=count)[1]
    if words:  # as a steered reply builds them
        view.clear_items()
        for item in result.items:
            view.add_item(MixFromButton(catalog="0123abcd", item_id=item.item_id, words=words))
    return [row["components"] for row in view.to_components()]


def test_each_result_gets_a_mix_button_after_its_more_like_button() -> None:
    links, more, mixes = rows_of(3)
    assert [b["label"] for b in mixes] == ["Mix from #1", "Mix from #2", "Mix from #3"]
    assert [b["custom_id"] for b in mixes] == [
        f"musicrec:mixfrom:0123abcd:{item}" for item in (7, 14, 21)
    ]
    assert all(TEMPLATE.fullmatch(b["custom_id"]) for b in mixes)


def test_ten_results_leave_one_row_for_the_first_five_mixes() -> None:
    rows = rows_of(10)
    assert len(rows) == 5
    assert [b["label"] for b in rows[4]] == [f"Mix from #{n}" for n in range(1, 6)]


def test_the_longest_steered_button_fits_a_custom_id() -> None:
    words = "8d1c" + "+zzzz" * ((MAX_CODE_CHARS - 4) // 5)
    (buttons,) = rows_of(1, words)
    longest = MixFromButton(catalog="ffffffff", item_id=999_999_999_999, words=words)
    assert len(longest.item.custom_id) <= 100
    match = TEMPLATE.fullmatch(buttons[0]["custom_id"])
    assert match and match["words"] == words and match["item"] == "7"
