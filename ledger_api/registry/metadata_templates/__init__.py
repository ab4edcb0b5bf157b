"""Metadata templates (数据模板): public → industry → enterprise JSON Schema 2020-12 documents.

See docs/identifiers.md. ``TemplateCatalog.default()`` holds the shipped templates.
"""

from ledger_api.registry.metadata_templates.catalog import (
    BASE,
    KINDS,
    PUBLIC_ID,
    FieldSpec,
    Template,
    TemplateCatalog,
    TemplateError,
    TemplateProblem,
    digest,
)

__all__ = [
    "BASE",
    "KINDS",
    "PUBLIC_ID",
    "FieldSpec",
    "Template",
    "TemplateCatalog",
    "TemplateError",
    "TemplateProblem",
    "digest",
]
