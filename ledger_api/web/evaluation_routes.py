"""The enterprise's evaluation pages: run an evaluation (a CSRF-protected form), read one with
its publication, and publish or withdraw it with a statement signed in the browser (the
registry key never reaches the server: the page posts only the statement and its signature)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from ledger_api.access.deps import Role
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import LedgerError
from ledger_api.core.paths import IDENTIFIER
from ledger_api.web import evaluation_service as service
from ledger_api.web.deps import FormDep, UserDep
from ledger_api.web.pages import error_page, render
from ledger_api.web.sessions import WebUser, same_token

router = APIRouter(include_in_schema=False)
#: The form posts of these pages (the JSON guard lets them through with a CSRF token).
FORM_PATHS = frozenset({"/portal/evaluate", "/portal/publication"})


def _page_of(identifier: str) -> str:
    return f"/portal/evaluations/{identifier}"


def _refused(request: Request, user: WebUser, exc: LedgerError) -> HTMLResponse:
    key = "error.not_found" if exc.status == 404 else "error.title"
    return error_page(request, exc.status, exc.code, key, user)


@router.get("/portal/evaluate", response_class=HTMLResponse)
def evaluate_form(request: Request, user: UserDep) -> Response:
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    if user.caller.role != Role.ENTERPRISE:  # only an enterprise evaluates its own periods
        return error_page(request, 404, "page_not_found", "error.not_found", user)
    return render(request, "evaluate.html", user, form={}, failure=None)


def _posted(
    request: Request,
    session: Session,
    user: WebUser | None,
    form: dict[str, str],
    act: Callable[[WebUser], str],
    refused: Callable[[WebUser, LedgerError], Response],
) -> Response:
    """A form post of these pages: signed in, with the session's CSRF token, ``act`` runs and
    the browser goes to the evaluation it names; a refusal rolls back what ``act`` wrote."""
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    if not same_token(form.get("csrf"), user.csrf):
        return error_page(request, 403, "csrf_failed", "error.csrf", user)
    try:
        identifier = act(user)
    except LedgerError as exc:
        session.rollback()
        return refused(user, exc)
    return RedirectResponse(_page_of(identifier), status_code=303)


@router.post("/portal/evaluate")
def evaluate(
    request: Request, session: SessionDep, context: Context, user: UserDep, form: FormDep
) -> Response:
    """Run an evaluation of the form's period; a refusal shows the form again, with why."""

    def act(user: WebUser) -> str:
        return service.run_evaluation(session, context.settings, user.caller, form).identifier

    def refused(user: WebUser, exc: LedgerError) -> Response:
        failure = {"code": exc.code, "field": exc.field, "message": str(exc)}
        return render(request, "evaluate.html", user, exc.status, form=form, failure=failure)

    return _posted(request, session, user, form, act, refused)


def _evaluation(
    request: Request, session: Session, context: Context, user: WebUser, identifier: str
) -> Response:
    try:
        found = service.evaluation_page(session, context.domain, user.caller, identifier)
    except LedgerError as exc:
        return _refused(request, user, exc)
    return render(request, "evaluation.html", user, page=found)


@router.get(f"/portal/evaluations/{IDENTIFIER}", response_class=HTMLResponse)
def evaluation(
    identifier: str, request: Request, session: SessionDep, context: Context, user: UserDep
) -> Response:
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _evaluation(request, session, context, user, identifier)


@router.post("/portal/publication")
def publication(
    request: Request, session: SessionDep, context: Context, user: UserDep, form: FormDep
) -> Response:
    """Publish or withdraw (the form's ``action``) with the statement the page signed."""

    def act(user: WebUser) -> str:
        return service.publish_signed(session, context.domain, user.caller, form)

    return _posted(request, session, user, form, act, partial(_refused, request))
