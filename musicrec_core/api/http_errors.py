"""Every error the HTTP API answers, in one JSON shape.

Shape: ``{"error": {"code": "<snake_case>", "message": "<one or two sentences>"}}`` with
the status that says whose fault it is: 4xx for anything the client sent (never 5xx for bad
input), 503 when the server is full or slow, 500 only for a bug (the message then says
nothing about it; the log has the traceback).

:class:`ApiError` is what endpoints and dependencies raise; :func:`install_error_handlers`
makes FastAPI answer it, its own 404/405 and its validation errors in this shape. Validation
messages name the field and say what was wrong in pydantic's words, never echoing the input.
"""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "error_body",
    "error_response",
    "install_error_handlers",
    "validation_message",
]

_MAX_ERRORS_SHOWN = 3
"""Validation problems named in one message; the rest are counted."""
_MAX_PART_CHARS = 200
_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header"}


class ApiError(Exception):
    """An answer other than success: ``status`` (4xx/5xx), a stable ``code`` a client can
    branch on, a ``message`` for people, and extra ``headers`` (Retry-After,
    WWW-Authenticate)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """``{"error": {"code": code, "message": message}}``."""
    return {"error": {"code": code, "message": message}}


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response for ``error``."""
    return JSONResponse(
        error_body(error.code, error.message), status_code=error.status, headers=error.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer :class:`ApiError`, FastAPI's HTTP errors (404, 405, ...) and request
    validation errors (400) as JSON errors. Unknown exceptions are left to
    :class:`~musicrec_core.api.body_guard.BodyGuard`, which logs them and answers 500."""

    async def on_api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(_from_http_exception(exc))

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(ApiError(400, "invalid_request", validation_message(exc.errors())))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def _from_http_exception(exc: StarletteHTTPException) -> ApiError:
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return ApiError(404, "not_found", "There is nothing at this path (see /docs).")
    if exc.status_code == 405:
        allowed = headers.get("Allow") or headers.get("allow") or "another method"
        return ApiError(405, "method_not_allowed", f"This path takes {allowed}.", headers=headers)
    phrase = _phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The request body could not be read."
    return ApiError(exc.status_code, phrase.lower().replace(" ", "_"), detail, headers=headers)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """One readable sentence per problem (at most three, then a count), e.g.
    ``query parameter 'n': Input should be less than or equal to 100.``"""
    parts = [_one_problem(error) for error in errors[:_MAX_ERRORS_SHOWN]]
    more = len(errors) - _MAX_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more problem{'s' if more > 1 else ''}.")
    return " ".join(parts) or "The request is not valid."


def _one_problem(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid":
        why = str(error.get("ctx", {}).get("error", "")) or "malformed"
        return _clip(f"The body is not valid JSON ({why}).")
    message = str(error.get("msg", "is not valid"))
    if error.get("type") == "missing":
        message = "is required"
    where = _where(loc)
    return _clip(f"{where}: {message}." if where else f"{message}.")


def _where(loc: list[str]) -> str:
    if not loc:
        return ""
    kind, path = loc[0], loc[1:]
    if kind in _WHERE and path:
        return f"{_WHERE[kind]} {path[0]!r}"
    if kind == "body":
        return f"body field {'.'.join(path)!r}" if path else "the body"
    return ".".join(loc)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_PART_CHARS else text[: _MAX_PART_CHARS - 1] + "…"
