"""Discord's checks on message payloads, as the fake server applies them.

Written independently of ``bot/limits.py`` on purpose: this is the oracle the bot is
tested against, so it must not share the code it checks. :func:`message_violations`
returns one readable string per broken rule (empty list = Discord would accept it).
"""

from __future__ import annotations

from typing import Any

CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBEDS_TOTAL = 6000
ACTION_ROWS = 5
ROW_BUTTONS = 5
BUTTON_LABEL = 80
CUSTOM_ID = 100
LINK_URL = 512
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100

ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
LINK_STYLE = 5


def _embed_violations(index: int, embed: dict[str, Any]) -> tuple[list[str], int]:
    """Violations of one embed and its character count toward the 6000 total."""
    problems: list[str] = []
    total = 0

    def measure(label: str, text: Any, limit: int, *, required: bool = False) -> None:
        nonlocal total
        if text is None:
            if required:
                problems.append(f"embed {index}: {label} is missing")
            return
        if not isinstance(text, str):
            problems.append(f"embed {index}: {label} is not a string")
            return
        if required and not text.strip():
            problems.append(f"embed {index}: {label} is empty")
        if len(text) > limit:
            problems.append(f"embed {index}: {label} has {len(text)} > {limit} characters")
        total += len(text)

    measure("title", embed.get("title"), EMBED_TITLE)
    measure("description", embed.get("description"), EMBED_DESCRIPTION)
    measure("footer.text", (embed.get("footer") or {}).get("text"), FOOTER_TEXT)
    measure("author.name", (embed.get("author") or {}).get("name"), AUTHOR_NAME)
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS:
        problems.append(f"embed {index}: {len(fields)} > {EMBED_FIELDS} fields")
    for number, field in enumerate(fields):
        measure(f"fields[{number}].name", field.get("name"), FIELD_NAME, required=True)
        measure(f"fields[{number}].value", field.get("value"), FIELD_VALUE, required=True)
    return problems, total


def _component_violations(rows: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(rows) > ACTION_ROWS:
        problems.append(f"{len(rows)} > {ACTION_ROWS} action rows")
    custom_ids: set[str] = set()
    for row_number, row in enumerate(rows):
        if row.get("type") != ACTION_ROW:
            problems.append(f"components[{row_number}] is not an action row")
            continue
        children = row.get("components") or []
        if not children:
            problems.append(f"components[{row_number}] is an empty action row")
        buttons = [child for child in children if child.get("type") == BUTTON]
        if len(buttons) > ROW_BUTTONS:
            problems.append(f"components[{row_number}] has {len(buttons)} > {ROW_BUTTONS} buttons")
        if buttons and len(buttons) != len(children):
            problems.append(f"components[{row_number}] mixes buttons with other components")
        for child in children:
            where = f"components[{row_number}] {child.get('label')!r}"
            label = child.get("label")
            if label is not None and (not label or len(label) > BUTTON_LABEL):
                problems.append(f"{where}: label length {len(label)} not in 1..{BUTTON_LABEL}")
            if child.get("type") == BUTTON and child.get("style") == LINK_STYLE:
                url = child.get("url") or ""
                if "custom_id" in child:
                    problems.append(f"{where}: a link button has a custom_id")
                if not url.startswith(("http://", "https://")) or len(url) > LINK_URL:
                    problems.append(f"{where}: bad link url ({len(url)} characters)")
                continue
            custom_id = child.get("custom_id")
            if not custom_id or len(custom_id) > CUSTOM_ID:
                problems.append(f"{where}: custom_id missing or over {CUSTOM_ID} characters")
            elif custom_id in custom_ids:
                problems.append(f"{where}: duplicate custom_id {custom_id!r}")
            else:
                custom_ids.add(custom_id)
    return problems


def message_violations(payload: dict[str, Any]) -> list[str]:
    """Every rule of Discord's message limits that ``payload`` breaks."""
    problems: list[str] = []
    content = payload.get("content")
    if content is not None and len(str(content)) > CONTENT:
        problems.append(f"content has {len(str(content))} > {CONTENT} characters")
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"{len(embeds)} > {EMBEDS_PER_MESSAGE} embeds")
    total = 0
    for index, embed in enumerate(embeds):
        embed_problems, embed_total = _embed_violations(index, embed)
        problems += embed_problems
        total += embed_total
    if total > EMBEDS_TOTAL:
        problems.append(f"embeds hold {total} > {EMBEDS_TOTAL} characters in all")
    problems += _component_violations(payload.get("components") or [])
    return problems


def autocomplete_violations(data: dict[str, Any]) -> list[str]:
    """Every rule an autocomplete result (callback type 8's ``data``) breaks: at most 25
    choices, each with a name of 1-100 characters and a value that is a string of at most
    100 characters or a number (Discord's application command option choice)."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        return ["an autocomplete result needs a list of choices"]
    problems: list[str] = []
    if len(choices) > AUTOCOMPLETE_CHOICES:
        problems.append(f"{len(choices)} > {AUTOCOMPLETE_CHOICES} choices")
    for position, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= CHOICE_NAME:
            size = len(name) if isinstance(name, str) else "no"
            problems.append(f"choice {position}: name has {size} characters (1-{CHOICE_NAME})")
        value = choice.get("value")
        if isinstance(value, str):
            if len(value) > CHOICE_VALUE:
                problems.append(
                    f"choice {position}: value has {len(value)} > {CHOICE_VALUE} characters"
                )
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"choice {position}: value must be a string or a number")
    return problems
