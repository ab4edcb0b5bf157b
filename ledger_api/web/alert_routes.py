"""The portal's alerts page: the monitoring alerts of the enterprises the signed-in user may
see (docs/monitoring.md), open ones by default. Its labels live here, beside the page, in both
languages."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ledger_api.core.deps import SessionDep
from ledger_api.monitoring.service import list_alerts
from ledger_api.web.deps import UserDep
from ledger_api.web.pages import language, render

router = APIRouter(include_in_schema=False)

LABELS = {
    "zh": {
        "title": "监测告警",
        "open": "未关闭",
        "all": "全部",
        "none": "没有告警。",
        "columns": ("编号", "企业", "类型", "对象", "级别", "状态", "说明", "发出时间"),
    },
    "en": {
        "title": "Monitoring alerts",
        "open": "Open",
        "all": "All",
        "none": "No alerts.",
        "columns": ("Id", "Enterprise", "Kind", "Subject", "Level", "State", "Message", "Raised"),
    },
}


@router.get("/portal/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, session: SessionDep, user: UserDep, state: Literal["open", "all"] = "open"
) -> Response:
    if user is None:
        return RedirectResponse("/sign-in", status_code=303)
    found = list_alerts(
        session, user.caller, None, None if state == "all" else "open", None, 200, 0
    )
    labels = LABELS[language(request)]
    return render(request, "alerts.html", user, found=found, state=state, labels=labels)
