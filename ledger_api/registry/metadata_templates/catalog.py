"""Metadata templates (数据模板): public → industry → enterprise, as JSON Schema 2020-12.

A template is a schema document whose ``$defs`` hold one open definition per kind of document
(``enterprise_fields``, ``source_fields``, ``terminal_fields``, ``attributes_fields``, and the
attribute sub-objects ``params_fields`` and ``measurements_fields``). A child template extends
each definition it redefines with ``allOf`` + ``$ref`` to the parent's, and names its parent
with a root ``$ref``. The registry closes a definition (``unevaluatedProperties: false``) only
when it validates, which is what lets children add fields; a child can therefore only add
fields and constraints, never remove them.

Schemas are resolved from an in-memory ``referencing.Registry`` holding every known template:
nothing is ever fetched, and the ``$id`` base is a non-resolvable example domain.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal

import rfc8785
import sha3
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from ledger_api.registry.identifiers import IdentifierError, check_uscc

BASE = "https://carbon-ledger.example/templates"
PUBLIC_ID = f"{BASE}/public/v1"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
KINDS: tuple[str, ...] = ("enterprise", "source", "terminal", "attributes")
# Sub-objects of an activity record's attributes, closed like the top level.
NESTED: tuple[str, ...] = ("params", "measurements")
DEFINITIONS: frozenset[str] = frozenset(f"{k}_fields" for k in (*KINDS, *NESTED))
SCHEMA_DIR = Path(__file__).parent / "json_schemas"

_ID = re.compile(
    re.escape(BASE)
    + r"/(?:(?P<public>public)|industry/(?P<industry>[a-z_]{1,32})"
    + r"|enterprise/(?P<enterprise>[a-z0-9][a-z0-9-]{0,63}))/v(?P<version>[1-9][0-9]{0,5})"
)
# Keywords that would mark unknown properties as evaluated and so reopen a closed template.
_LOOSENING = frozenset({"additionalProperties", "patternProperties", "unevaluatedProperties"})

Level = Literal["public", "industry", "enterprise"]


class TemplateError(ValueError):
    """A template was refused or not found; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Template:
    """One registered template version. ``digest`` is what gets anchored."""

    id: str
    level: Level
    name: str  # "public", the industry key, or the enterprise template's name
    version: int
    parent: str | None
    industry: str | None  # None for the public template
    digest: str  # 0x + keccak256 of ``canonical``
    canonical: bytes  # RFC 8785 canonical JSON of the document

    @property
    def document(self) -> dict[str, Any]:
        # Decoded afresh each time so no caller can mutate the registered template.
        return json.loads(self.canonical)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    code: str  # always "template_violation"
    path: str  # JSON path of the offending value, e.g. $.params.aem
    message: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Shape of one top-level field, enough for a spreadsheet reader to convert cells."""

    name: str
    type: str | None  # "string", "array", … (None: unconstrained)
    format: str | None  # "decimal", "date", "uscc", … of the value (or of array items)
    required: bool


def digest(document: Mapping[str, Any]) -> str:
    """0x-prefixed keccak256 of the RFC 8785 canonical JSON of ``document``."""
    return "0x" + sha3.keccak_256(rfc8785.dumps(document)).hexdigest()


def _check_decimal(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats constrain strings only; "type" handles the rest
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _check_uscc(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        check_uscc(value)
    except IdentifierError:
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=("date",))
    checker.checks("decimal")(_check_decimal)
    checker.checks("uscc")(_check_uscc)
    return checker


FORMAT_CHECKER = _format_checker()


@cache
def _shipped() -> tuple[str, ...]:
    # Parents before children: public, then industries; read once per process.
    paths = sorted(SCHEMA_DIR.glob("*.json"), key=lambda p: (not p.name.startswith("public"), p))
    return tuple(p.read_text(encoding="utf-8") for p in paths)


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every object (schema or not) inside a JSON document, depth first."""
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _identify(template_id: object) -> tuple[Level, str, int]:
    match = _ID.fullmatch(template_id) if isinstance(template_id, str) else None
    if match is None:
        raise TemplateError(
            "bad_template_id",
            f"template $id must look like {BASE}/(public|industry/<key>|enterprise/<name>)/v<N>",
        )
    version = int(match["version"])
    if match["public"]:
        return "public", "public", version
    if match["industry"]:
        return "industry", match["industry"], version
    return "enterprise", match["enterprise"], version


def _check_dialect(document: Mapping[str, Any]) -> None:
    if document.get("$schema") != DIALECT:
        raise TemplateError("wrong_dialect", f"a template declares $schema {DIALECT}")
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as exc:
        raise TemplateError(
            "invalid_schema", f"not a valid 2020-12 schema: {exc.message}"
        ) from None


def _check_keywords(document: Mapping[str, Any]) -> None:
    for node in _walk(document):
        loose = _LOOSENING.intersection(node)
        if loose:
            raise TemplateError(
                "loosening_keyword",
                f"{sorted(loose)[0]} would reopen a closed template: add named properties only",
            )
        if node.get("type") in ("number", "integer") or (
            isinstance(node.get("type"), list) and {"number", "integer"} & set(node["type"])
        ):
            raise TemplateError(
                "number_type", "numeric values are decimal strings (format decimal), not numbers"
            )
        if node is not document and "$id" in node:
            raise TemplateError("invalid_template", "only the template root may carry $id")


def _extends(definition: Any, parent_def: str) -> bool:
    if not isinstance(definition, Mapping):
        return False
    if definition.get("$ref") == parent_def:
        return True
    return any(
        isinstance(part, Mapping) and part.get("$ref") == parent_def
        for part in definition.get("allOf", ())
    )


def _check_extends(document: Mapping[str, Any], parent: str) -> None:
    if document.get("$ref") != parent:
        raise TemplateError("not_extending", f"the template root must be {{'$ref': '{parent}'}}")
    for name, definition in document.get("$defs", {}).items():
        if not name.endswith("_fields"):
            continue  # helper definitions (enums, shared types) are free
        if name not in DEFINITIONS:
            raise TemplateError("unknown_definition", f"$defs/{name} is not one of the kinds")
        if not _extends(definition, f"{parent}#/$defs/{name}"):
            raise TemplateError(
                "not_extending",
                f"$defs/{name} must extend {parent}#/$defs/{name} (allOf with its $ref)",
            )


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path += f".{part}"
        else:
            path += "[" + json.dumps(part) + "]"
    return path


class TemplateCatalog:
    """Known templates, their schemas preloaded, and validation against them.

    ``register`` adds enterprise templates at runtime; it is serialised by a lock, and a
    registered version is immutable (a change is a new version).
    """

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}
        self._documents: dict[str, dict[str, Any]] = {}
        self._resources: Registry = Registry()
        self._validators: dict[tuple[str, str, bool], Draft202012Validator] = {}
        # Templates never change once registered, so what is derived from them is cached.
        self._fields: dict[tuple[str, str], dict[str, FieldSpec]] = {}
        self._lock = threading.Lock()
        self._catch_up: Callable[[], None] = lambda: None

    @classmethod
    def default(cls) -> TemplateCatalog:
        """A fresh catalog holding the shipped public and industry templates."""
        catalog = cls()
        for text in _shipped():
            catalog._add(json.loads(text))
        return catalog

    def templates(self) -> tuple[Template, ...]:
        return tuple(self._templates.values())

    def catch_up_with(self, loader: Callable[[], None]) -> None:
        """Call ``loader`` when an id is unknown here: where several processes serve one
        ledger, another may have registered it (``loader`` adds what is stored elsewhere)."""
        self._catch_up = loader

    def catch_up(self) -> None:
        """Add what other processes registered since (see :meth:`catch_up_with`)."""
        self._catch_up()

    def knows(self, template_id: str) -> bool:
        """Whether this registry holds ``template_id`` now, without catching up."""
        return template_id in self._templates

    def has(self, template_id: str) -> bool:
        return self._find(template_id) is not None

    def get(self, template_id: str) -> Template:
        found = self._find(template_id)
        if found is None:
            raise TemplateError("unknown_template", f"no template {template_id}")
        return found

    def _find(self, template_id: str) -> Template | None:
        found = self._templates.get(template_id)
        if found is None:
            self._catch_up()
            found = self._templates.get(template_id)
        return found

    def for_industry(self, industry: str) -> Template:
        """The latest industry template for ``industry``; ``general`` gets the public one."""
        if industry == "general":
            return self.get(PUBLIC_ID)
        found = [
            t for t in self._templates.values() if t.level == "industry" and t.name == industry
        ]
        if not found:
            raise TemplateError("unknown_template", f"no industry template for {industry!r}")
        return max(found, key=lambda t: t.version)

    def register(
        self, document: Mapping[str, Any], *, industry: str, name: str | None = None
    ) -> Template:
        """Register an enterprise template that extends ``industry``'s template.

        Without ``$id`` the registry assigns ``…/enterprise/<name>/v<next>``; with one, its
        version must be the next for that name. Raises ``TemplateError`` when refused.
        """
        try:
            document = json.loads(json.dumps(document))  # a private copy, and proof it is JSON
        except (TypeError, ValueError):
            raise TemplateError("invalid_template", "a template is a JSON document") from None
        if not isinstance(document, dict):
            raise TemplateError("invalid_template", "a template is a JSON object")
        with self._lock:
            if "$id" not in document:
                if name is None:
                    raise TemplateError("bad_template_id", "give the template an $id or a name")
                document["$id"] = f"{BASE}/enterprise/{name}/v{self._next_version(name)}"
            level, slug, version = _identify(document["$id"])
            if level != "enterprise":
                raise TemplateError("not_enterprise_template", "only enterprise templates register")
            if version != self._next_version(slug):
                raise TemplateError(
                    "version_conflict", f"next version of {slug} is v{self._next_version(slug)}"
                )
            parent = self._templates.get(document.get("$ref", ""))
            if parent is None or parent.level != "industry" or parent.name != industry:
                raise TemplateError(
                    "not_extending",
                    f"an enterprise template's root $ref names a {industry} industry template, "
                    f"e.g. {self.for_industry(industry).id}",
                )
            return self._add(document)

    def _next_version(self, name: str) -> int:
        versions = [
            t.version
            for t in self._templates.values()
            if t.level == "enterprise" and t.name == name
        ]
        return max(versions, default=0) + 1

    def _add(self, document: dict[str, Any]) -> Template:
        _check_dialect(document)
        level, name, version = _identify(document.get("$id"))
        if document["$id"] in self._templates:
            raise TemplateError("version_conflict", f"{document['$id']} is already registered")
        _check_keywords(document)
        parent = self._parent(document, level)
        industry = name if level == "industry" else parent.industry if parent else None
        if parent is not None:
            _check_extends(document, parent.id)
        resources = self._resources.with_resource(
            document["$id"], DRAFT202012.create_resource(document)
        )
        self._check_refs(document, resources)
        template = Template(
            id=document["$id"],
            level=level,
            name=name,
            version=version,
            parent=parent.id if parent else None,
            industry=industry,
            digest=digest(document),
            canonical=rfc8785.dumps(document),
        )
        self._templates[template.id] = template
        self._documents[template.id] = document
        self._resources = resources
        return template

    def _parent(self, document: Mapping[str, Any], level: Level) -> Template | None:
        if level == "public":
            return None
        parent = self.get(document.get("$ref", "")) if "$ref" in document else None
        expected = "public" if level == "industry" else "industry"
        if parent is None or parent.level != expected:
            raise TemplateError("not_extending", f"a {level} template extends a {expected} one")
        return parent

    def _lineage(self, template_id: str) -> list[str]:
        chain: list[str] = []
        current: str | None = template_id
        while current is not None:
            chain.append(current)
            current = self._templates[current].parent if current in self._templates else None
        return chain

    def _check_refs(self, document: Mapping[str, Any], resources: Registry) -> None:
        # A template may point only into itself and its ancestors, and every pointer must land.
        allowed = {document["$id"], *self._lineage(document.get("$ref", ""))}
        resolver = resources.resolver(base_uri=document["$id"])
        for node in _walk(document):
            ref = node.get("$ref")
            if not isinstance(ref, str):
                continue
            target = ref.split("#", 1)[0] or document["$id"]
            if target not in allowed:
                raise TemplateError("foreign_ref", f"$ref {ref} leaves the template's lineage")
            try:
                resolver.lookup(ref)
            except Unresolvable:
                raise TemplateError("unresolvable_ref", f"$ref {ref} resolves to nothing") from None

    def _def_uri(self, template_id: str, definition: str) -> str:
        """URI of ``definition`` in the nearest template of the lineage that declares it."""
        for current in self._lineage(template_id):
            if definition in self._documents[current].get("$defs", {}):
                return f"{current}#/$defs/{definition}"
        raise TemplateError("unknown_template", f"{template_id} has no {definition}")

    def _schema(self, template_id: str, kind: str, closed: bool) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "$schema": DIALECT,
            "$ref": self._def_uri(template_id, f"{kind}_fields"),
        }
        if not closed:
            return schema
        schema["unevaluatedProperties"] = False
        if kind == "attributes":
            schema["properties"] = {
                nested: {
                    "$ref": self._def_uri(template_id, f"{nested}_fields"),
                    "unevaluatedProperties": False,
                }
                for nested in NESTED
            }
        return schema

    def _validator(self, template_id: str, kind: str, closed: bool) -> Draft202012Validator:
        if kind not in KINDS:
            raise TemplateError("unknown_kind", f"kind {kind!r} is not one of {KINDS}")
        self.get(template_id)
        key = (template_id, kind, closed)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(
                self._schema(template_id, kind, closed),
                registry=self._resources,
                format_checker=FORMAT_CHECKER,
            )
        return self._validators[key]

    def validate(
        self, template_id: str, kind: str, document: Any, *, closed: bool = True
    ) -> list[TemplateProblem]:
        """Every way ``document`` (of ``kind``) violates the template; empty when it conforms.

        ``closed=False`` skips the unknown-field check: for checking what can be checked of a
        document whose real template is not known yet.
        """
        validator = self._validator(template_id, kind, closed)
        # One problem per path: a value failing both pattern and format is one mistake.
        problems: dict[str, TemplateProblem] = {}
        for error in validator.iter_errors(document):
            for problem in self._explain(template_id, kind, error):
                problems.setdefault(problem.path, problem)
        return [problems[path] for path in sorted(problems)]

    def _explain(
        self, template_id: str, kind: str, error: ValidationError
    ) -> list[TemplateProblem]:
        """Problems for one error, pointing at the offending property rather than its parent."""
        where = list(error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, Mapping):
            missing = [n for n in error.validator_value if n not in instance]
            return [_problem([*where, n], f"{n!r} is required") for n in missing]
        if error.validator == "unevaluatedProperties" and isinstance(instance, Mapping):
            nested = where[0] if len(where) == 1 and kind == "attributes" else None
            definition = f"{nested}_fields" if nested in NESTED else f"{kind}_fields"
            known = self._property_names(self._def_uri(template_id, definition))
            # A property failing its own schema counts as unevaluated too; it is reported
            # already, so only names the template does not know are problems here.
            return [
                _problem([*where, n], f"{n!r} is not a field of {template_id}")
                for n in instance
                if n not in known
            ]
        if error.validator == "type" and error.schema.get("format") == "decimal":
            return [_problem(where, 'a decimal is written as a string, e.g. "0.085"')]
        if error.validator == "format" and error.validator_value == "uscc":
            try:
                check_uscc(instance)
            except IdentifierError as exc:
                return [_problem(where, exc.message)]
        if error.validator in ("pattern", "format") and "description" in error.schema:
            # The definition's description says what is wanted better than its regex does.
            return [_problem(where, f"{instance!r} is not valid: {error.schema['description']}")]
        return [_problem(where, error.message)]

    def fields(self, template_id: str, kind: str) -> dict[str, FieldSpec]:
        """Top-level fields a ``kind`` document may carry under ``template_id``."""
        if kind not in KINDS:
            raise TemplateError("unknown_kind", f"kind {kind!r} is not one of {KINDS}")
        self.get(template_id)
        if (template_id, kind) not in self._fields:
            self._fields[template_id, kind] = self._derive_fields(template_id, kind)
        return dict(self._fields[template_id, kind])

    def _derive_fields(self, template_id: str, kind: str) -> dict[str, FieldSpec]:
        properties: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {}
        required: set[str] = set()
        resolver = self._resources.resolver()
        self._collect(
            resolver, {"$ref": self._def_uri(template_id, f"{kind}_fields")}, properties, required
        )
        specs = {}
        for field_name, schemas in properties.items():
            shape: dict[str, Any] = {}
            for field_resolver, schema in schemas:
                _shape(field_resolver, schema, shape)
            specs[field_name] = FieldSpec(
                field_name, shape.get("type"), shape.get("format"), field_name in required
            )
        return specs

    def _property_names(self, def_uri: str) -> set[str]:
        properties: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {}
        self._collect(self._resources.resolver(), {"$ref": def_uri}, properties, set())
        return set(properties)

    def _collect(
        self,
        resolver: Any,
        schema: Mapping[str, Any],
        properties: dict[str, list[tuple[Any, Mapping[str, Any]]]],
        required: set[str],
    ) -> None:
        # Follows exactly the keywords templates use to extend: $ref and allOf.
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            self._collect(resolved.resolver, resolved.contents, properties, required)
        for part in schema.get("allOf", ()):
            self._collect(resolver, part, properties, required)
        for name, sub in schema.get("properties", {}).items():
            properties.setdefault(name, []).append((resolver, sub))
        required.update(schema.get("required", ()))


def _shape(resolver: Any, schema: Any, shape: dict[str, Any]) -> None:
    """Fill ``type`` and ``format`` of a field (of its items, for arrays) from its schema."""
    if not isinstance(schema, Mapping):
        return
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        _shape(resolved.resolver, resolved.contents, shape)
    for part in schema.get("allOf", ()):
        _shape(resolver, part, shape)
    if isinstance(schema.get("type"), str):
        shape.setdefault("type", schema["type"])
    elif "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        if all(isinstance(v, str) for v in values):
            shape.setdefault("type", "string")
    if "format" in schema:
        shape.setdefault("format", schema["format"])
    if shape.get("type") == "array" and "items" in schema:
        _shape(resolver, schema["items"], shape)


def _problem(parts: Iterable[str | int], message: str) -> TemplateProblem:
    return TemplateProblem("template_violation", _json_path(parts), message)
