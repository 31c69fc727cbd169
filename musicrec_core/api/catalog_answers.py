"""What the HTTP API answers for listening sessions (``/v1/mix``, ``/v1/path``) and for
``/v1/discover``: catalog items by public id, in the order they play or were found.

An item is named as in :mod:`~musicrec_core.api.answers` (a YouTube video id, or
``lib_<sha256 of the file>``, never a server path), with its window, labels, and the title
and channel the title lookups found. A session's steps carry the cosines that show its flow
(docs/sessions.md): a mix's to the track before and to the seeds' mean direction, a path's
to A and to B, each in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from musicrec_core.api.answers import CatalogItem, group_public_id
from musicrec_core.catalog.index import ItemMeta
from musicrec_core.recommender import youtube_url
from musicrec_core.service.sessions import FailedSeed, WalkedSession
from musicrec_core.sessions import MixItem, PathItem
from musicrec_core.steering import LabelSteering
from musicrec_core.steering.discovery import Discovery
from musicrec_core.titles import VideoAnswer

__all__ = [
    "DiscoverAnswer",
    "SessionAnswer",
    "SessionStep",
    "discover_answer",
    "session_answer",
]

_DECIMALS = 4


class SessionStep(CatalogItem):
    """One track of a session, with the cosines that show its flow (each in [-1, 1])."""

    to_previous: float | None = Field(
        default=None, description="Mix: cosine to the track before (the first: the last seed)."
    )
    to_seeds: float | None = Field(
        default=None, description="Mix: cosine to the seeds' mean direction."
    )
    to_a: float | None = Field(default=None, description="Path: cosine to A.")
    to_b: float | None = Field(default=None, description="Path: cosine to B.")


class SkippedSeed(BaseModel):
    """A seed that could not be heard, and why."""

    seed: str
    reason: str


class SessionAnswer(BaseModel):
    """A mix or a path, in play order."""

    catalog: str = Field(description="Fingerprint of the catalog the items come from.")
    kind: Literal["mix", "path"]
    asked: int = Field(description="Tracks asked for (a mix's length, a path's steps).")
    shortfall: str | None = Field(description="Why fewer came back; null when all did.")
    skipped_seeds: list[SkippedSeed]
    steering: dict[str, Any] | None
    items: list[SessionStep]


class DiscoverAnswer(BaseModel):
    """A seeded page of catalog items carrying every word asked."""

    catalog: str
    words: list[dict[str, Any]] = Field(description="Each word as the vocabulary resolved it.")
    qualified: int = Field(description="How many segments or tracks carry the words.")
    unit: Literal["segment", "track"]
    page: int = Field(description="The page's seed: the same page, the same items.")
    items: list[CatalogItem]


def catalog_item(meta: ItemMeta, answers: Mapping[str, VideoAnswer]) -> dict[str, Any]:
    """The :class:`CatalogItem` fields of ``meta``, titled from ``answers`` (by video id)."""
    youtube = meta.kind == "youtube"
    identifier, kind = group_public_id(meta.group, youtube=youtube)
    answer = answers.get(meta.group)
    found = answer is not None and answer.state == "found"
    return {
        "id": identifier,
        "kind": kind,
        "title": answer.title if found and answer.title else meta.title,
        "channel": answer.channel if found else None,
        "start": round(meta.start_s, 3),
        "end": round(meta.end_s, 3),
        "url": youtube_url(meta.group, meta.start_s) if youtube else None,
        "labels": list(meta.labels),
    }


def _step(item: MixItem | PathItem, answers: Mapping[str, VideoAnswer]) -> SessionStep:
    fields = catalog_item(item.meta, answers)
    if isinstance(item, MixItem):
        fields |= {
            "to_previous": round(item.to_previous, _DECIMALS),
            "to_seeds": round(item.to_seeds, _DECIMALS),
        }
    else:
        fields |= {"to_a": round(item.to_a, _DECIMALS), "to_b": round(item.to_b, _DECIMALS)}
    return SessionStep(**fields)


def session_answer(
    kind: Literal["mix", "path"],
    walked: WalkedSession,
    skipped: list[FailedSeed],
    steering: LabelSteering | None,
) -> SessionAnswer:
    """The API's answer for a session ``walked`` on the served catalog; ``skipped`` are the
    seeds that could not be heard (their reasons already fit for clients)."""
    session = walked.session
    return SessionAnswer(
        catalog=walked.catalog,
        kind=kind,
        asked=session.asked,
        shortfall=session.shortfall,
        skipped_seeds=[SkippedSeed(seed=seed.name, reason=seed.reason) for seed in skipped],
        steering=None if steering is None else steering.to_json(),
        items=[_step(item, walked.answers) for item in session.items],
    )


def discover_answer(found: Discovery, catalog: str) -> DiscoverAnswer:
    """The API's answer for a discover page of ``catalog`` (its fingerprint)."""
    return DiscoverAnswer(
        catalog=catalog,
        words=[resolution.to_json() for resolution in found.resolutions],
        qualified=found.qualified,
        unit="segment" if found.unit == "segment" else "track",
        page=found.seed,
        items=[CatalogItem(**catalog_item(item.meta, {})) for item in found.items],
    )
