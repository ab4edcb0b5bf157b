"""Uploaded files: read the body within the upload limit, and answer a file over a limit.

Routes that parse a file are plain ``def`` routes, so the parsing runs in a worker thread and
the event loop keeps answering other requests; only reading the body happens on the loop, here,
counted as it streams in. The limits themselves are ``Settings.upload_limits``
(``accounting.spreadsheets.FileLimits``; docs/security.md, "Uploads").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from accounting.spreadsheets import FileLimitError, FileLimits
from ledger_api.core.errors import ApiError


def upload_limits(request: Request) -> FileLimits:
    return request.app.state.ledger.settings.upload_limits


Limits = Annotated[FileLimits, Depends(upload_limits)]


async def read_upload(request: Request, limits: Limits) -> bytes:
    """The request body, refused (413 ``upload_too_large``) once it passes the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(limits)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_large(limits)
        chunks.append(chunk)
    return b"".join(chunks)


Upload = Annotated[bytes, Depends(read_upload)]


def _too_large(limits: FileLimits) -> ApiError:
    return ApiError(413, "upload_too_large", f"at most {limits.max_bytes} bytes", "body")


def limit_error(exc: FileLimitError, field: str = "body") -> ApiError:
    """413 with the limit's code (``archive_too_large``, ``sheet_too_large``, …)."""
    return ApiError(413, exc.code, exc.message, field)
