"""Metadata templates (数据模板): public → industry → enterprise JSON Schema 2020-12 documents.

See docs/identifiers.md. ``TemplateRegistry.default()`` holds the shipped templates.
"""

from ledger_api.registry.templates.catalog import (
    BASE,
    KINDS,
    PUBLIC_ID,
    FieldSpec,
    Template,
    TemplateError,
    TemplateProblem,
    TemplateRegistry,
    digest,
)

__all__ = [
    "BASE",
    "KINDS",
    "PUBLIC_ID",
    "FieldSpec",
    "Template",
    "TemplateError",
    "TemplateProblem",
    "TemplateRegistry",
    "digest",
]
