"""Identifiers of the industrial-internet identifier system: Handle, OID and Ecode.

``parse`` reads any of the three schemes into a canonical ``Identifier``; ``mint`` builds the
identifiers the ledger issues under its own Handle prefix. Everything here is pure: whether an
identifier is registered, or resolves, is a question for the database and the resolver.

Only printable ASCII is accepted (see docs/identifiers.md): identifiers are keys that people
copy between systems, and a Cyrillic ``а`` or a full-width ``１`` looks exactly like its ASCII
twin while comparing unequal, which would let two different registrations pass for one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["handle", "oid", "ecode"]
SCHEMES: tuple[Scheme, ...] = ("handle", "oid", "ecode")

# The Handle protocol limits a handle to 255 bytes; we apply the same cap to every scheme so an
# oversized input is refused before any further work.
MAX_BYTES = 255
OID_URN = "urn:oid:"

_HANDLE_PREFIX = re.compile(r"[1-9][0-9]{0,9}(\.[0-9]{1,10})+")
# Conservative suffix alphabet: safe in URLs, file names, CSV cells and QR codes alike.
_SUFFIX_CHARS = re.compile(r"[A-Za-z0-9._\-:/]+")
_OID_ARC = re.compile(r"0|[1-9][0-9]{0,38}")  # up to 39 digits: a 128-bit arc (2.25.<uuid>)


@dataclass(frozen=True, slots=True)
class EcodeVersion:
    nsi_digits: int
    max_main: int
    alphabet: str


# Ecode text forms (GB/T 31866): version digit V, numbering-system identifier NSI, main code MD.
# Lengths are our reading of the standard's structure table; verify against the standard text
# before relying on them. Ecode defines no check digit of its own: a main code may embed one
# (e.g. a GTIN) under the rules of its NSI, which this module does not know, so only the
# structure is checked.
ECODE_VERSIONS: dict[str, EcodeVersion] = {
    "1": EcodeVersion(nsi_digits=4, max_main=20, alphabet="0123456789"),
    "2": EcodeVersion(nsi_digits=8, max_main=28, alphabet="0123456789"),
    "3": EcodeVersion(nsi_digits=8, max_main=39, alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
}

MINT_KINDS: frozenset[str] = frozenset(
    {"ENT", "FAC", "SRC", "DEV", "PRD", "EVAL", "AST", "REC", "TPL"}
)
MINT_TAG = "CL"
_MINT_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")


class IdentifierError(ValueError):
    """An identifier was refused; ``code`` is machine-readable, ``position`` the bad index."""

    def __init__(self, code: str, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Identifier:
    """A parsed identifier. ``text`` is the canonical form: store and compare only that.

    ``prefix`` is the issuing authority: the Handle prefix, the OID's parent arcs, or the
    Ecode's version digit and NSI. ``suffix`` is the rest.
    """

    scheme: Scheme
    prefix: str
    suffix: str
    text: str

    def __str__(self) -> str:
        return self.text


def parse(
    text: str,
    allowed_prefixes: Iterable[str] | None = None,
    *,
    scheme: Scheme | None = None,
) -> Identifier:
    """Parse and normalise ``text``; raise ``IdentifierError`` when it is refused.

    ``allowed_prefixes`` (optional) limits the issuing authorities accepted: a Handle or OID
    prefix is covered by an allowed prefix equal to it or above it at a ``.`` boundary; an Ecode
    prefix (version + NSI) must equal one. ``scheme`` forces a scheme instead of detecting it.
    """
    if not isinstance(text, str):
        raise IdentifierError("malformed_identifier", "an identifier must be text")
    _check_characters(text)
    chosen = scheme or detect_scheme(text)
    if chosen == "handle":
        identifier = _parse_handle(text)
    elif chosen == "oid":
        identifier = _parse_oid(text)
    elif chosen == "ecode":
        identifier = _parse_ecode(text)
    else:
        raise IdentifierError("unknown_scheme", f"unknown identifier scheme {chosen!r}")
    if allowed_prefixes is not None:
        _check_prefix(identifier, allowed_prefixes)
    return identifier


def normalise(text: str, allowed_prefixes: Iterable[str] | None = None) -> str:
    """The canonical text of ``text``; ``normalise(normalise(x)) == normalise(x)``."""
    return parse(text, allowed_prefixes).text


def detect_scheme(text: str) -> Scheme:
    """Which scheme ``text`` is written in, from its shape alone."""
    if text[: len(OID_URN)].lower() == OID_URN:
        return "oid"
    head, slash, _ = text.partition("/")
    if slash:
        if ":" in head:  # doi:…, http://…: a URI of some other scheme
            raise IdentifierError("unknown_scheme", f"{head.split(':')[0]!r} is not a scheme here")
        return "handle"
    if "." in text:
        return "oid"
    if text[:1].isdigit():
        return "ecode"
    raise IdentifierError(
        "unknown_scheme", "not a Handle (prefix/suffix), an OID (dotted arcs) or an Ecode (digits)"
    )


def _check_characters(text: str) -> None:
    if not text:
        raise IdentifierError("empty_identifier", "the identifier is empty")
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise IdentifierError("too_long", f"identifiers are at most {MAX_BYTES} bytes")
    for i, ch in enumerate(text):
        if 0x21 <= ord(ch) <= 0x7E:
            continue
        category = unicodedata.category(ch)
        if ch.isspace() or category == "Zs":
            raise IdentifierError("whitespace", f"whitespace at position {i}", i)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            # Cf covers zero-width and bidi-override characters: invisible, so a control too.
            raise IdentifierError("control_character", f"control character at position {i}", i)
        raise IdentifierError(
            "confusable_character",
            f"non-ASCII character {ch!r} (U+{ord(ch):04X}, {unicodedata.name(ch, '?')}) "
            f"at position {i}: identifiers are ASCII only",
            i,
        )


def _parse_handle(text: str) -> Identifier:
    prefix, slash, suffix = text.partition("/")
    if not slash or not prefix or not suffix:
        raise IdentifierError("malformed_identifier", "a Handle is prefix/suffix, both non-empty")
    if not _HANDLE_PREFIX.fullmatch(prefix):
        raise IdentifierError(
            "malformed_identifier",
            f"Handle prefix {prefix!r} is not dot-separated numeric segments (e.g. 88.118.8)",
        )
    bad = _SUFFIX_CHARS.sub("", suffix)
    if bad:
        raise IdentifierError(
            "malformed_identifier", f"character {bad[0]!r} is not allowed in a Handle suffix"
        )
    # Empty, '.' and '..' segments would be rewritten by URL handling on the way to the API.
    if any(segment in ("", ".", "..") for segment in suffix.split("/")):
        raise IdentifierError(
            "malformed_identifier", "a Handle suffix has no empty, '.' or '..' segments"
        )
    # Handle resolution is case-insensitive for ASCII, so fold to one case: the ledger must
    # never register two identifiers that resolve to the same handle.
    suffix = suffix.upper()
    return Identifier("handle", prefix, suffix, f"{prefix}/{suffix}")


def _parse_oid(text: str) -> Identifier:
    body = text[len(OID_URN) :] if text[: len(OID_URN)].lower() == OID_URN else text
    arcs = body.split(".")
    if len(arcs) < 2:
        raise IdentifierError("malformed_identifier", "an OID has at least two arcs")
    for arc in arcs:
        if not _OID_ARC.fullmatch(arc):
            raise IdentifierError(
                "malformed_identifier",
                f"OID arc {arc!r} is not a number without leading zeros (at most 39 digits)",
            )
    first, second = int(arcs[0]), int(arcs[1])
    if first > 2:
        raise IdentifierError("malformed_identifier", "an OID's first arc is 0, 1 or 2")
    if first < 2 and second >= 40:
        raise IdentifierError(
            "malformed_identifier", "under arcs 0 and 1 the second arc is below 40"
        )
    return Identifier("oid", ".".join(arcs[:-1]), arcs[-1], body)


def _parse_ecode(text: str) -> Identifier:
    code = text.upper()  # version 3's letters are upper case; lower case is a transcription
    version = ECODE_VERSIONS.get(code[0])
    if version is None:
        raise IdentifierError(
            "malformed_identifier",
            f"Ecode version {code[0]!r} is not one of {sorted(ECODE_VERSIONS)}",
        )
    split = 1 + version.nsi_digits
    nsi, main = code[1:split], code[split:]
    if len(nsi) != version.nsi_digits or not nsi.isdigit():
        raise IdentifierError(
            "malformed_identifier", f"Ecode v{code[0]} has a {version.nsi_digits}-digit NSI"
        )
    if not main:
        raise IdentifierError("malformed_identifier", "the Ecode main code is empty")
    if len(main) > version.max_main:
        raise IdentifierError(
            "too_long", f"Ecode v{code[0]} main code is at most {version.max_main} characters"
        )
    bad = [c for c in main if c not in version.alphabet]
    if bad:
        raise IdentifierError(
            "malformed_identifier", f"character {bad[0]!r} is not allowed in Ecode v{code[0]}"
        )
    return Identifier("ecode", code[:split], main, code)


def _check_prefix(identifier: Identifier, allowed: Iterable[str]) -> None:
    prefix = identifier.prefix
    for candidate in allowed:
        if prefix == candidate:
            return
        # A Handle or OID authority may delegate below itself: 88.118.8 covers 88.118.8.5.
        if identifier.scheme != "ecode" and prefix.startswith(candidate + "."):
            return
    raise IdentifierError("foreign_prefix", f"prefix {prefix} is not one this ledger accepts")


def mint(prefix: str, kind: str, local: str) -> str:
    """The identifier the ledger issues: ``<prefix>/CL-<KIND>-<LOCAL>``, canonical text.

    ``local`` is the caller's unique key within the kind (a sequence number, a ULID, …):
    ASCII letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit, at most 64.
    """
    if kind not in MINT_KINDS:
        raise IdentifierError("unknown_kind", f"kind {kind!r} is not one of {sorted(MINT_KINDS)}")
    if not isinstance(local, str) or not _MINT_LOCAL.fullmatch(local):
        raise IdentifierError(
            "malformed_identifier",
            "local part: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
        )
    identifier = parse(f"{prefix}/{MINT_TAG}-{kind}-{local}", scheme="handle")
    return identifier.text


def minted_kind(identifier: Identifier) -> str | None:
    """The kind of an identifier the ledger minted (``SRC``, ``DEV``, …), else ``None``."""
    if identifier.scheme != "handle":
        return None
    tag, _, rest = identifier.suffix.partition("-")
    kind, dash, _ = rest.partition("-")
    return kind if tag == MINT_TAG and dash and kind in MINT_KINDS else None


# Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from 31 symbols
# (digits and upper-case letters without I, O, S, V, Z); the last is a check character over the
# first 17 with weights 3^i mod 31. The organisation code embedded at positions 9-17 carries a
# GB 11714 check of its own, which is not verified here.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


def uscc_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(text: str) -> str:
    """Return ``text`` if it is a well-formed USCC with a correct check character, else raise."""
    if not isinstance(text, str) or not _USCC_SHAPE.fullmatch(text):
        raise IdentifierError(
            "malformed_identifier",
            "a USCC is 18 characters: digits and A-Z without I, O, S, V, Z; 6-digit region code",
        )
    expected = uscc_check_character(text[:17])
    if text[17] != expected:
        raise IdentifierError(
            "bad_check_digit", f"USCC check character is {expected!r}, not {text[17]!r}", 17
        )
    return text
