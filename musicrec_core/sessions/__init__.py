"""Listening sessions: a mix walking from a few seeds (:func:`mix`) and a path from one
track to another (:func:`path`), with the variety rules both share (docs/sessions.md)."""

from musicrec_core.sessions.items import MixItem, PathItem, Session
from musicrec_core.sessions.mix import MAX_SESSION, PREVIOUS_WEIGHT, mix
from musicrec_core.sessions.path import path
from musicrec_core.sessions.variety import catalog_owner, group_owner, owner_cap

__all__ = [
    "MAX_SESSION",
    "PREVIOUS_WEIGHT",
    "MixItem",
    "PathItem",
    "Session",
    "catalog_owner",
    "group_owner",
    "mix",
    "owner_cap",
    "path",
]
