"""Validation messages: the field named in plain words, at most three problems, clipped."""

from __future__ import annotations

from musicrec_core.api.http_errors import validation_message


def test_validation_messages_name_the_field_and_count_the_rest() -> None:
    errors = [
        {"type": "int_parsing", "loc": ("query", "n"), "msg": "Input should be a valid integer"},
        {"type": "missing", "loc": ("body", "seed"), "msg": "Field required"},
        {"type": "too_long", "loc": ("body", "exclude"), "msg": "List should have at most 3"},
        {"type": "x", "loc": ("header", "x-a"), "msg": "bad"},
        {"type": "x", "loc": ("header", "x-b"), "msg": "bad"},
    ]
    assert validation_message(errors) == (
        "query parameter 'n': Input should be a valid integer. body field 'seed': is required. "
        "body field 'exclude': List should have at most 3. and 2 more problems."
    )


def test_a_long_message_is_clipped_and_an_empty_list_still_reads() -> None:
    long = [{"type": "value_error", "loc": ("body",), "msg": "x" * 1000}]
    assert len(validation_message(long)) == 200
    assert validation_message([]) == "The request is not valid."
