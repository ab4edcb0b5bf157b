"""ASGI middleware: a request id and one log line for every request; a cap on body size; a
key and a bounded nesting depth before any JSON body is parsed.

Both are plain ASGI so the request body streams through untouched: ingestion batches run to
megabytes, and a middleware that buffered them would cost memory and time on every batch.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("carbon_ledger.api")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestLog:
    """Bind a request id (the caller's ``X-Request-ID`` when well-formed), echo it in the
    response, and log method, path, status, duration and principal — never headers or bodies,
    which carry keys and data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                principal=scope.get("state", {}).get("principal"),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Answer 413 for a body over ``max_bytes``, by its Content-Length or, when it is sent in
    chunks, as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # An HTTPException passes through FastAPI's body parsing to the error handlers.
                raise HTTPException(413, f"request body exceeds {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, max_bytes: int) -> None:
    await _answer(send, 413, "body_too_large", f"request body exceeds {max_bytes} bytes", "body")


async def _answer(
    send: Send,
    status: int,
    code: str,
    message: str,
    field: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "field": field}}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


MAX_JSON_DEPTH = 64  # templates (JSON Schema documents) nest deepest, at about a dozen levels
_KEY_SHAPE = re.compile(r"^Bearer cl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
_STRING = re.compile(rb'"[^"]*"')
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def json_depth_exceeds(body: bytes, limit: int) -> bool | None:
    """True when ``body`` nests deeper than ``limit``, None when its brackets or quotes do not
    balance (it is not JSON), False otherwise. Runs at C speed, about a millisecond for a
    1,000-record batch: escapes are dropped (pairs of backslashes first, as a parser reads
    them), then everything but quotes and brackets, then strings; each pass then removes one
    level of empty pairs."""
    if b"\\" in body:  # a scan for one byte is ten times cheaper than a replace that finds none
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Adjacent quotes go first, in C: they are most of a batch's quotes (every string of
    # hex or identifiers), and dropping them keeps every bracket inside or outside a string,
    # since the quotes before each bracket stay even or odd. The regex then sees only the
    # strings that hold a bracket.
    flat = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    brackets = _STRING.sub(b"", flat)
    if b'"' in brackets:
        return None
    for _ in range(limit):
        if not brackets:
            return False
        shorter = _EMPTY_PAIR.sub(b"", brackets)
        if len(shorter) == len(brackets):
            return None
        brackets = shorter
    return bool(brackets)


# JSON can carry U+0000 only as this escape. No field of the API has a use for it, and
# PostgreSQL cannot store it in text: refused with the field that holds it, before a handler
# could pass it to the database.
_NUL_ESCAPE = b"\\u0000"


def nul_text_at(body: bytes) -> str | None:
    """Where in the (well-formed, depth-checked) JSON ``body`` a key or string holds U+0000,
    as a dotted path (``records.3.attributes``), or None; ``body`` for the document itself."""
    try:
        document = json.loads(body)
    except ValueError:
        return None  # the route's own parser answers it
    return _nul_in(document, ())


def _nul_in(value: Any, path: tuple[str, ...]) -> str | None:
    if isinstance(value, str):
        return (".".join(path) or "body") if "\0" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = ((str(i), item) for i, item in enumerate(value))
    else:
        return None
    for key, item in items:
        if "\0" in key:
            return ".".join((*path, key.replace("\0", "\\u0000")))
        if (where := _nul_in(item, (*path, key))) is not None:
            return where
    return None


def _is_form(scope: Scope) -> bool:
    kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class JsonGuard:
    """Before any handler parses a body: a request with a body must carry a well-formed API
    key (checked for real by the route), and a JSON body may nest at most ``max_depth`` deep.
    A parser run on a hostile body before the key is checked is how one request without a
    key could take the process down."""

    def __init__(
        self,
        app: ASGIApp,
        max_depth: int = MAX_JSON_DEPTH,
        form_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_depth = max_depth
        # The portal's sign-in and sign-out forms carry a CSRF token, not a key; their small
        # url-encoded bodies are read by a flat parser with a size cap, never a JSON one.
        self.form_paths = form_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.form_paths and _is_form(scope):
            await self.app(scope, receive, send)
            return
        if not _KEY_SHAPE.match(_header(scope, b"authorization") or ""):
            await _answer(
                send,
                401,
                "unauthenticated",
                "a live API key is required",
                "Authorization",
                ((b"www-authenticate", b"Bearer"),),
            )
            return
        if "json" not in (_header(scope, b"content-type") or ""):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:  # the body limit, counting the chunks as they come
            await _answer(send, exc.status_code, "body_too_large", exc.detail, "body")
            return
        verdict = json_depth_exceeds(body, self.max_depth)
        if verdict is None:
            await _answer(send, 400, "malformed_json", "request body is not valid JSON", "body")
            return
        if verdict:
            message = f"the body nests deeper than {self.max_depth} levels"
            await _answer(send, 422, "json_too_deep", message, "body")
            return
        if _NUL_ESCAPE in body and (where := nul_text_at(body)) is not None:
            await _answer(send, 422, "nul_character", "text may not hold U+0000", where)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
