"""Request dependencies of the portal: the signed-in user, and the fields of a posted form
with its CSRF token checked."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from sqlmodel import Session

from ledger_api.core.deps import Context
from ledger_api.core.errors import ApiError
from ledger_api.web.pages import SESSION_COOKIE
from ledger_api.web.sessions import WebUser, session_user

#: Portal forms hold a key, a token and a few filters: anything larger is not one of ours.
MAX_FORM_BYTES = 4096
FORM_TYPE = "application/x-www-form-urlencoded"


def web_user(request: Request, context: Context) -> WebUser | None:
    with Session(context.engine) as session:
        user = session_user(session, request.cookies.get(SESSION_COOKIE))
    if user is not None:
        request.state.principal = user.caller.name  # for the request log
    return user


UserDep = Annotated[WebUser | None, Depends(web_user)]


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a small url-encoded form (read without a multipart parser; the JSON
    guard lets only such bodies through to the portal without an API key)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        raise ApiError(415, "unsupported_form", f"a portal form is sent as {FORM_TYPE}", "body")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, "form_too_large", f"a form is at most {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode(), max_num_fields=8, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "malformed_form", "the form could not be read", "body") from exc
    return dict(pairs)


FormDep = Annotated[dict[str, str], Depends(form_fields)]
