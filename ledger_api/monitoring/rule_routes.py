"""Monitoring rules of an enterprise: create, list, change, switch off; apply a template."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from ledger_api.access.deps import Manager, Reader
from ledger_api.core.deps import SessionDep
from ledger_api.core.schemas import RowId
from ledger_api.monitoring import service
from ledger_api.monitoring.schemas import RuleIn, RuleOut, RuleUpdate, TemplateIn
from ledger_api.monitoring.templates import TEMPLATES

router = APIRouter(prefix="/v1/monitor-rules", tags=["monitoring"])


@router.post("", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, session: SessionDep, caller: Manager) -> RuleOut:
    return service.create_rule(session, caller, body)


@router.get("", response_model=list[RuleOut])
def list_rules(
    session: SessionDep, caller: Reader, enterprise: str = Query(max_length=128)
) -> list[RuleOut]:
    return service.list_rules(session, caller, enterprise)


@router.get("/templates", response_model=dict[str, list[dict[str, object]]])
def templates(caller: Reader) -> dict[str, list[dict[str, object]]]:
    """The rule templates per industry (others get the common rules)."""
    return {
        industry: [{"kind": k, "name": n, "params": p} for k, n, p in rules]
        for industry, rules in TEMPLATES.items()
    }


@router.post("/templates/apply", response_model=list[RuleOut], status_code=201)
def apply_template(body: TemplateIn, session: SessionDep, caller: Manager) -> list[RuleOut]:
    return service.apply_template(session, caller, body.enterprise, body.industry)


@router.get("/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: RowId, session: SessionDep, caller: Reader) -> RuleOut:
    return service.rule_out(session, service.visible_rule(session, caller, rule_id))


@router.patch("/{rule_id}", response_model=RuleOut)
def update_rule(rule_id: RowId, body: RuleUpdate, session: SessionDep, caller: Manager) -> RuleOut:
    return service.update_rule(session, caller, rule_id, body)


@router.delete("/{rule_id}", status_code=204)
def delete_rule(rule_id: RowId, session: SessionDep, caller: Manager) -> Response:
    """Switch the rule off and resolve its open alerts (it stays, for its alerts' history)."""
    service.delete_rule(session, caller, rule_id)
    return Response(status_code=204)
