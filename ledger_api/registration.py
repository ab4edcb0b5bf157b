"""Checks shared by every registration path (single requests and bulk files)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ledger_api.errors import ApiError, Problem
from ledger_api.identifiers import IdentifierError, parse
from ledger_api.templates import TemplateRegistry
from verifier.keccak import parse_address, to_checksum_address


@cache
def templates() -> TemplateRegistry:
    """One template registry per process (shipped public and industry templates)."""
    return TemplateRegistry.default()


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


def check_metadata(
    industry: str, kind: str, metadata: dict[str, Any] | None, field: str = "metadata"
) -> None:
    """Validate registration metadata or record attributes against the industry template."""
    if metadata is None:
        return
    registry = templates()
    problems = registry.validate(registry.for_industry(industry).id, kind, metadata)
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
