"""Rendering: the templates, the request's language and user, the security headers of every
page, and the cookies the portal sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ledger_api.web.i18n import LANGUAGES, Translator, china_time, choose_language, number
from ledger_api.web.sessions import WebUser

SESSION_COOKIE = "cl_session"
FORM_COOKIE = "cl_form"  # the CSRF token of the sign-in form, before any session exists
LANGUAGE_COOKIE = "cl_lang"
#: Everything from this origin; scripts only from files (chart data travels as JSON, which a
#: browser never runs), no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["number"] = number
templates.env.filters["china_time"] = china_time


def language(request: Request) -> str:
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def secure(request: Request) -> bool:
    """Cookies are Secure whenever the ledger is reached over https."""
    return request.url.scheme == "https"


def _switch_links(request: Request) -> dict[str, str]:
    return {
        lang: str(
            request.url.include_query_params(lang=lang).replace(scheme="", netloc="")
        ).removeprefix("//")
        for lang in LANGUAGES
    }


def render(
    request: Request,
    template: str,
    user: WebUser | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": Translator(lang),
            "lang": lang,
            "user": user,
            "switch": _switch_links(request),
            **context,
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure(request)
        )
    return response


def error_page(
    request: Request, status: int, code: str, message_key: str, user: WebUser | None = None
) -> HTMLResponse:
    """A page for a refused request: the status, and the machine-readable code shown."""
    return render(request, "error.html", user, status=status, code=code, message_key=message_key)
