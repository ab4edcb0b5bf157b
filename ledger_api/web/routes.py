"""The portal's pages: the landing page, signing in and out, and each role's view. Routes only
translate between the browser and the services (``service``, ``sessions`` and the domains')."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)

from ledger_api.access.deps import Role
from ledger_api.assets import holdings
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import LedgerError
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.proofs import figure_proof
from ledger_api.evaluations.queries import visible_evaluation
from ledger_api.evaluations.report import render_report
from ledger_api.evaluations.report_view import report_data
from ledger_api.financier.csv_export import to_csv
from ledger_api.financier.routes import CSV_COLUMNS
from ledger_api.web import oversight, service
from ledger_api.web.deps import FormDep, UserDep
from ledger_api.web.pages import (
    FORM_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    error_page,
    render,
    secure,
)
from ledger_api.web.sessions import (
    LIFETIME_S,
    TerminalKeyError,
    WebUser,
    end_session,
    open_session,
    same_token,
)

router = APIRouter(include_in_schema=False)
#: Form posts the JSON guard lets through without an API key (they carry a CSRF token).
FORM_PATHS = frozenset({"/sign-in", "/sign-out"})
#: Roles that read across enterprises (the regulator's overview); the others see a portfolio.
OVERSEERS = frozenset({Role.ADMIN, Role.REGULATOR})
T = TypeVar("T")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
ICON = Path(__file__).parent / "static" / "icon.svg"


def _sign_in_form(request: Request, status: int = 200, failure: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", status=status, csrf=token, failure=failure)
    response.set_cookie(
        FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


def _attempt(request: Request, user: WebUser, work: Callable[[], T]) -> T | HTMLResponse:
    """The service's answer, or its refusal as a page with the error's code."""
    try:
        return work()
    except LedgerError as exc:
        key = "error.not_found" if exc.status == 404 else "error.title"
        return error_page(request, exc.status, exc.code, key, user)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, user: UserDep) -> Response:
    return render(request, "landing.html", user)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Pages that name no icon of their own (the evaluation report) get the portal's."""
    return FileResponse(ICON, media_type="image/svg+xml")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, user: UserDep) -> Response:
    if user is not None:
        return RedirectResponse("/portal", status_code=303)
    return _sign_in_form(request)


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, form: FormDep) -> Response:
    if not same_token(form.get("csrf"), request.cookies.get(FORM_COOKIE)):
        return error_page(request, 403, "csrf_failed", "error.csrf")
    try:
        token = open_session(session, form.get("api_key", "").strip())
    except TerminalKeyError:
        return _sign_in_form(request, 403, "sign_in.terminal")
    if token is None:
        return _sign_in_form(request, 401, "sign_in.failed")
    if SESSION_COOKIE in request.cookies:  # signing in again ends the session held before
        end_session(session, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=LIFETIME_S,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    response.delete_cookie(FORM_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, user: UserDep, form: FormDep) -> Response:
    if user is None:
        return _to_sign_in()
    if not same_token(form.get("csrf"), user.csrf):
        return error_page(request, 403, "csrf_failed", "error.csrf", user)
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=secure(request))
    return response


def _portfolio_query(
    industry: str | None = Query(None, max_length=64),
    region: str | None = Query(None, max_length=64),
    grade: int | None = Query(None, ge=1, le=5),
    sort: str = Query("enterprise", pattern="^(" + "|".join(service.SORT_KEYS) + ")$"),
    order: str = Query("asc", pattern="^(asc|desc)$"),
    page: int = Query(1, ge=1, le=100_000),
) -> service.PortfolioQuery:
    return service.PortfolioQuery(
        industry or None, region or None, grade, sort, order == "desc", page
    )


PortfolioQueryDep = Annotated[service.PortfolioQuery, Depends(_portfolio_query)]


@router.get("/portal", response_class=HTMLResponse)
def portal(
    request: Request,
    session: SessionDep,
    context: Context,
    user: UserDep,
    query: PortfolioQueryDep,
    province: str | None = Query(None, pattern=r"^[1-9][0-9]$"),
) -> Response:
    """Each role's home: an enterprise its own ledger, overseers the overview (regions by
    province, or a ``province``'s by city), financiers and verifiers the portfolio of the
    enterprises that granted them access."""
    if user is None:
        return _to_sign_in()
    caller = user.caller
    if caller.role == Role.ENTERPRISE:
        home = service.enterprise_home(session, caller, "")
        return render(request, "enterprise.html", user, home=home)
    if caller.role in OVERSEERS and request.query_params.get("view") != "portfolio":
        minimum = context.settings.population_min_members
        return render(
            request,
            "overview.html",
            user,
            overview=service.overview(session, caller, "", minimum, province),
        )
    found = service.portfolio_page(session, caller, "", query)
    return render(
        request,
        "portfolio.html",
        user,
        found=found,
        query=query,
        link=lambda **changes: _with_query(request, "/portal", view="portfolio", **changes),
        csv_link=_with_query(request, "/portal/portfolio.csv"),
    )


@router.get("/portal/data-quality", response_class=HTMLResponse)
def data_quality(request: Request, session: SessionDep, user: UserDep) -> Response:
    """For overseers: the terminals that are silent, have sequence gaps, or were revoked."""
    if user is None:
        return _to_sign_in()
    if user.caller.role not in OVERSEERS:
        return error_page(request, 404, "page_not_found", "error.not_found", user)
    found = oversight.data_quality(session, int(time.time()))
    return render(request, "data_quality.html", user, terminals=found)


def _with_query(request: Request, path: str, **changes: str | int) -> str:
    """``path`` with this request's query, some parameters changed (links keep the filters)."""
    return f"{path}?{request.url.include_query_params(**changes).query}"


@router.get("/portal/portfolio.csv")
def portfolio_csv(
    request: Request,
    session: SessionDep,
    user: UserDep,
    query: PortfolioQueryDep,
) -> Response:
    if user is None:
        return _to_sign_in()
    base = str(request.base_url).rstrip("/")
    rows = service.portfolio_rows(session, user.caller, base, query)
    text = to_csv(CSV_COLUMNS, (r.model_dump(include=set(CSV_COLUMNS)) for r in rows))
    headers = {"Content-Disposition": 'attachment; filename="portfolio.csv"', **SECURITY_HEADERS}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(f"/portal/enterprises/{IDENTIFIER}", response_class=HTMLResponse)
def enterprise_profile(
    identifier: str, request: Request, session: SessionDep, user: UserDep
) -> Response:
    if user is None:
        return _to_sign_in()
    found = _attempt(request, user, lambda: service.profile(session, user.caller, "", identifier))
    if isinstance(found, Response):
        return found
    return render(request, "profile.html", user, profile=found, chart=service.profile_chart(found))


@router.get(f"/portal/evaluations/{IDENTIFIER}/report", response_class=HTMLResponse)
def evaluation_report(
    identifier: str, request: Request, session: SessionDep, context: Context, user: UserDep
) -> Response:
    """The evaluation report, as the API serves it (a self-contained document of its own)."""
    if user is None:
        return _to_sign_in()
    base = str(request.base_url).rstrip("/")
    public = context.settings.public_base_url

    def report() -> str:
        visible_evaluation(session, user.caller, identifier)
        return render_report(report_data(session, identifier, base, public))

    found = _attempt(request, user, report)
    return found if isinstance(found, Response) else HTMLResponse(found)


@router.get(f"/portal/evaluations/{IDENTIFIER}/proof")
def evaluation_proof(
    identifier: str,
    request: Request,
    session: SessionDep,
    context: Context,
    user: UserDep,
    figure: str = Query("total", max_length=200),
) -> Response:
    """A figure's proof bundle, downloaded, for carbon-verify or the in-browser verifier."""
    if user is None:
        return _to_sign_in()

    def bundle() -> JSONResponse:
        visible_evaluation(session, user.caller, identifier)
        built = figure_proof(session, context.engine, context.domain, identifier, figure)
        return _download(built.to_json(), f"{identifier.rsplit('/', 1)[-1]}-{figure}")

    return _attempt(request, user, bundle)


@router.get(f"/portal/assets/{IDENTIFIER}/proof")
def holding_proof(
    identifier: str,
    request: Request,
    session: SessionDep,
    context: Context,
    user: UserDep,
    holder: str = Query(..., max_length=128),
    first: int = Query(..., ge=0, le=2**63 - 1),
    last: int = Query(..., ge=0, le=2**63 - 1),
) -> Response:
    """A holding's proof bundle, downloaded (for ``carbon-verify asset``)."""
    if user is None:
        return _to_sign_in()

    def bundle() -> JSONResponse:
        built = holdings.holding_proof(
            session, context.engine, context.domain, user.caller, identifier, holder, (first, last)
        )
        return _download(built.to_json(), f"{identifier.rsplit('/', 1)[-1]}-{first}-{last}")

    return _attempt(request, user, bundle)


@router.get("/portal/asset-operations/{digest}/proof")
def retirement_proof(
    digest: str, request: Request, session: SessionDep, context: Context, user: UserDep
) -> Response:
    """A retirement's or surrender's proof bundle, downloaded."""
    if user is None:
        return _to_sign_in()

    def bundle() -> JSONResponse:
        built = holdings.retirement_proof(
            session, context.engine, context.domain, user.caller, digest
        )
        return _download(built.to_json(), f"retirement-{digest[:18]}")

    return _attempt(request, user, bundle)


def _download(document: object, name: str) -> JSONResponse:
    filename = _SAFE_NAME.sub("_", name) + ".json"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return JSONResponse(document, headers=disposition)
