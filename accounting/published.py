"""Published data sets: the JSON documents shipped under ``accounting/data`` that decide digits
beside the methods (factor sets, energy coefficient sets, benchmark level sets).

Each is known by id and published by its digest: keccak256 over the RFC 8785 canonical JSON of
the whole document, 0x-prefixed, so it can be anchored on an EVM chain and a verifier can check
that it recomputes with the data its trust root names. Finding a shipped set, refusing an id
that is not shipped and reading the document exactly are written once here; each kind's module
parses its own document, because the verifier parses a proof bundle's copy with that parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Protocol, TypedDict, TypeVar

import rfc8785
import sha3

from accounting.errors import AccountingError


def digest_document(document: Any) -> str:
    """0x-prefixed keccak256 of the RFC 8785 canonical JSON of ``document``."""
    return "0x" + sha3.keccak_256(rfc8785.dumps(document)).hexdigest()


class Heading(TypedDict):
    id: str
    version: str
    title: str
    digest: str


def heading(document: dict[str, Any]) -> Heading:
    """What a set states of itself, and the digest it is published by."""
    return Heading(
        id=str(document["id"]),
        version=str(document["version"]),
        title=str(document["title"]),
        digest=digest_document(document),
    )


@dataclass(frozen=True, eq=False)
class PublishedSet:
    """The part of every published set an entry names it by. Sets compare and hash by
    identity: the loaders cache what they parse, and a set is never edited in place."""

    id: str
    version: str
    title: str
    digest: str

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "digest": self.digest}


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_Identified)


def by_id(
    items: Iterable[Item], noun: str, error: type[AccountingError]
) -> MappingProxyType[str, Item]:
    """A set's items keyed by id, in document order; an id stated twice is refused, since a
    lookup would silently take one of the two values."""
    found: dict[str, Item] = {}
    for item in items:
        if item.id in found:
            raise error(f"duplicate {noun} id {item.id!r}")
        found[item.id] = item
    return MappingProxyType(found)


@dataclass(frozen=True, slots=True)
class Shelf:
    """Where one kind of set is shipped and how its loader refuses: ``file`` is the document's
    path in ``package`` with ``{}`` for the id; ``errors`` are the unknown-id and the
    malformed-document errors (their codes are the API's), the first reported on ``field``."""

    noun: str
    file: str
    field: str
    errors: tuple[type[AccountingError], type[AccountingError]]
    package: str = "accounting.data"

    def ids(self) -> tuple[str, ...]:
        """The shipped ids, sorted."""
        folder, prefix, suffix = self._parts()
        names = (path.name for path in folder.iterdir())
        return tuple(
            sorted(
                name.removeprefix(prefix).removesuffix(suffix)
                for name in names
                if name.startswith(prefix) and name.endswith(suffix)
            )
        )

    def read(self, set_id: str) -> dict[str, Any]:
        """The shipped document ``set_id``; only a listed id names a file, so no id reaches
        outside the shelf."""
        known = self.ids()
        if set_id not in known:
            raise self.errors[0](
                f"unknown {self.noun} {set_id!r} (known: {', '.join(known)})", field=self.field
            )
        folder, prefix, suffix = self._parts()
        text = folder.joinpath(f"{prefix}{set_id}{suffix}").read_text(encoding="utf-8")
        document: dict[str, Any] = json.loads(text, parse_float=self._reject_float)
        return document

    def _parts(self) -> tuple[Traversable, str, str]:
        """The folder, and the file name's text before and after the id."""
        folder, _, name = self.file.rpartition("/")
        prefix, _, suffix = name.partition("{}")
        data = resources.files(self.package)
        return (data.joinpath(folder) if folder else data), prefix, suffix

    def _reject_float(self, text: str) -> Decimal:
        # A JSON number with a fraction would be read as a binary float: the digits would drift.
        raise self.errors[1](f"numeric literal {text} in {self.noun}; store decimals as strings")
