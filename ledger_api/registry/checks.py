"""Checks shared by every registration path (single requests and bulk files): identifiers,
addresses and metadata against the template in force."""

from __future__ import annotations

from typing import Any

from ledger_api.core.errors import ApiError, Problem
from ledger_api.registry.identifiers import IdentifierError, parse
from ledger_api.registry.template_store import template_catalog
from verifier.protocol.keccak import parse_address, to_checksum_address


def canonical_identifier(text: str, prefix: str, field: str = "identifier") -> str:
    """The identifier if it parses under our prefix and is already canonical; else a 422."""
    try:
        parsed = parse(text, allowed_prefixes={prefix})
    except IdentifierError as exc:
        raise ApiError(422, exc.code, str(exc), field) from None
    if parsed.text != text:
        raise ApiError(
            422,
            "non_canonical_identifier",
            f"write the identifier as {parsed.text}: one spelling per object",
            field,
        )
    return parsed.text


def checksum_address(text: str, field: str) -> str:
    """The EIP-55 form of an address; a 422 naming ``field`` when it is not one."""
    try:
        return to_checksum_address(parse_address(text))
    except ValueError as exc:
        raise ApiError(422, "invalid_address", str(exc), field) from None


def template_for(industry: str, template_id: str | None = None) -> str:
    """The template a document is checked against: the enterprise's own, else its industry's."""
    return template_id or template_catalog().for_industry(industry).id


def check_metadata(
    industry: str,
    kind: str,
    metadata: dict[str, Any] | None,
    field: str = "metadata",
    template_id: str | None = None,
) -> None:
    """Validate registration metadata or record attributes against the template in force."""
    if metadata is None:
        return
    problems = template_catalog().validate(template_for(industry, template_id), kind, metadata)
    if problems:
        first = problems[0]
        raise ApiError(
            422,
            "template_violation",
            first.message,
            f"{field}{first.path.removeprefix('$')}",
            problems=[
                Problem(code=p.code, message=p.message, field=f"{field}{p.path.removeprefix('$')}")
                for p in problems
            ],
        )
