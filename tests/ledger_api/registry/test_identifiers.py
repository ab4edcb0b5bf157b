"""Handle, OID and Ecode identifiers: parsing, normalisation, refusals, minting, USCC."""

from __future__ import annotations

import pytest

from ledger_api.registry.identifiers import (
    Identifier,
    IdentifierError,
    check_uscc,
    mint,
    minted_kind,
    normalise,
    parse,
    uscc_check_character,
)

LEDGER = frozenset({"88.118.8"})


def refused(text: str, allowed: frozenset[str] | None = None) -> str:
    with pytest.raises(IdentifierError) as info:
        parse(text, allowed)
    assert info.value.message
    return info.value.code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "88.118.8/CL-SRC-KILN-1",
            Identifier("handle", "88.118.8", "CL-SRC-KILN-1", "88.118.8/CL-SRC-KILN-1"),
        ),
        (
            "88.118.8/cl-src-kiln-1",
            Identifier("handle", "88.118.8", "CL-SRC-KILN-1", "88.118.8/CL-SRC-KILN-1"),
        ),
        (
            "88.100.20/line_2/meter:7",
            Identifier("handle", "88.100.20", "LINE_2/METER:7", "88.100.20/LINE_2/METER:7"),
        ),
        ("1.2.156.3001.7", Identifier("oid", "1.2.156.3001", "7", "1.2.156.3001.7")),
        ("urn:oid:1.2.156.3001.7", Identifier("oid", "1.2.156.3001", "7", "1.2.156.3001.7")),
        ("URN:OID:2.999", Identifier("oid", "2", "999", "2.999")),
        ("0.39", Identifier("oid", "0", "39", "0.39")),
        ("100011234567890123", Identifier("ecode", "10001", "1234567890123", "100011234567890123")),
        ("2123456781234", Identifier("ecode", "212345678", "1234", "2123456781234")),
        ("312345678abc9", Identifier("ecode", "312345678", "ABC9", "312345678ABC9")),
    ],
)
def test_valid_identifiers_parse_to_their_canonical_form(text: str, expected: Identifier) -> None:
    assert parse(text) == expected
    assert str(parse(text)) == expected.text


@pytest.mark.parametrize(
    "text",
    [
        "88.118.8/cl-src-a",
        "urn:oid:1.2.156.3001.7",
        "312345678abc9",
        "88.118.8/Mixed/Case:Path",
    ],
)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert parse(once) == parse(text)


def test_handle_case_variants_are_one_identifier() -> None:
    assert normalise("88.118.8/CL-ENT-abc") == normalise("88.118.8/cl-ent-ABC")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_identifier"),
        ("88.118.8/CL\x00SRC", "control_character"),
        ("88.118.8/CL\x7fSRC", "control_character"),
        ("88.118.8/CL\u200bSRC", "control_character"),  # zero-width space
        ("88.118.8/CL\u202eSRC", "control_character"),  # right-to-left override
        ("88.118.8/CL SRC", "whitespace"),
        ("88.118.8/CL-SRC\t", "whitespace"),
        (" 88.118.8/CL-SRC", "whitespace"),
        ("88.118.8/CL\u3000SRC", "whitespace"),  # ideographic space
        ("88.118.8/CL\u00a0SRC", "whitespace"),  # no-break space
        ("88.118.8/\u0430bc", "confusable_character"),  # Cyrillic а
        ("88.118.8/CL-SRC-\u0410", "confusable_character"),  # Cyrillic А
        ("88.118.\uff18/CL-SRC", "confusable_character"),  # full-width 8 in the prefix
        ("1.2.\uff11\uff15\uff16.1", "confusable_character"),  # full-width 156
        ("88\u3002118.8/X", "confusable_character"),  # ideographic full stop
        ("88.118.8/" + "A" * 247, "too_long"),  # 256 bytes
        ("1.02.156", "malformed_identifier"),  # leading zero in an arc
        ("1.2.0156.1", "malformed_identifier"),
        ("3.1", "malformed_identifier"),  # first arc above 2
        ("1.40", "malformed_identifier"),  # second arc 40 under arc 1
        ("1.2.", "malformed_identifier"),
        ("1", "malformed_identifier"),  # Ecode version 1 without NSI
        ("88.118.8/", "malformed_identifier"),
        ("/CL-SRC", "malformed_identifier"),
        ("0.NA/88.118.8", "malformed_identifier"),  # prefix administration handle
        ("88.x/CL", "malformed_identifier"),
        ("88.118.8/a//b", "malformed_identifier"),
        ("88.118.8/a/../b", "malformed_identifier"),
        ("88.118.8/a#b", "malformed_identifier"),
        ("88.118.8/a%2Fb", "malformed_identifier"),
        ("512345", "malformed_identifier"),  # no such Ecode version
        ("10001", "malformed_identifier"),  # Ecode without a main code
        ("1000" + "1" * 22, "too_long"),  # v1 main code above 20 digits
        ("10001ABC", "malformed_identifier"),  # letters only from version 3
        ("doi:10.1000/182", "unknown_scheme"),
        ("https://example.org/x", "unknown_scheme"),
        ("plant-7", "unknown_scheme"),
    ],
)
def test_refused_identifiers_name_the_reason(text: str, code: str) -> None:
    assert refused(text) == code


def test_handle_at_the_length_limit_is_accepted() -> None:
    text = "88.118.8/" + "A" * 246
    assert len(text) == 255
    assert parse(text).text == text


def test_position_points_at_the_bad_character() -> None:
    with pytest.raises(IdentifierError) as info:
        parse("88.118.8/p\u0430ss")
    assert info.value.position == 10
    assert "U+0430" in info.value.message


def test_allowed_prefixes() -> None:
    assert parse("88.118.8/CL-SRC-1", LEDGER).prefix == "88.118.8"
    assert parse("88.118.8.5/X", LEDGER).prefix == "88.118.8.5"  # delegated below ours
    assert refused("88.118.80/X", LEDGER) == "foreign_prefix"  # not a segment boundary
    assert refused("88.118/X", LEDGER) == "foreign_prefix"
    assert refused("88.119.8/X", LEDGER) == "foreign_prefix"
    oids = frozenset({"1.2.156.3001"})
    assert parse("1.2.156.3001.4.2", oids).prefix == "1.2.156.3001.4"
    assert refused("1.2.156.30011.1", oids) == "foreign_prefix"
    assert refused("1.2.156.3001", oids) == "foreign_prefix"  # the authority's own arc
    assert parse("100011234", frozenset({"10001"})).prefix == "10001"
    assert refused("100021234", frozenset({"10001"})) == "foreign_prefix"


def test_forced_scheme() -> None:
    assert parse("1.2.3", scheme="oid").scheme == "oid"
    with pytest.raises(IdentifierError) as info:
        parse("1.2.156.1", scheme="handle")
    assert info.value.code == "malformed_identifier"
    with pytest.raises(IdentifierError) as info:
        parse("1.2.3", scheme="doi")  # type: ignore[arg-type]
    assert info.value.code == "unknown_scheme"


def test_mint_is_deterministic_and_parses_back() -> None:
    minted = mint("88.118.8", "SRC", "kiln-1")
    assert minted == "88.118.8/CL-SRC-KILN-1"
    assert mint("88.118.8", "SRC", "kiln-1") == minted
    assert normalise(minted, LEDGER) == minted
    assert minted_kind(parse(minted)) == "SRC"
    assert minted_kind(parse("88.118.8/OTHER-SRC-1")) is None
    assert minted_kind(parse("1.2.156.1")) is None


@pytest.mark.parametrize(
    ("prefix", "kind", "local", "code"),
    [
        ("88.118.8", "CAR", "1", "unknown_kind"),
        ("88.118.8", "SRC", "", "malformed_identifier"),
        ("88.118.8", "SRC", "a/b", "malformed_identifier"),
        ("88.118.8", "SRC", "-a", "malformed_identifier"),
        ("88.118.8", "SRC", "\u0430", "malformed_identifier"),
        ("88.118.8", "SRC", "x" * 65, "malformed_identifier"),
        ("88.1l8.8", "SRC", "1", "malformed_identifier"),
    ],
)
def test_mint_refuses_bad_parts(prefix: str, kind: str, local: str, code: str) -> None:
    with pytest.raises(IdentifierError) as info:
        mint(prefix, kind, local)
    assert info.value.code == code


def test_uscc_check_character() -> None:
    assert uscc_check_character("91350100M000100Y4") == "3"
    assert check_uscc("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(IdentifierError) as info:
        check_uscc("91350100M000100Y44")
    assert info.value.code == "bad_check_digit"
    for bad in ("91350100M000100Y4", "91350100M000100I43", "9135010OM000100Y43"):
        with pytest.raises(IdentifierError) as info:
            check_uscc(bad)
        assert info.value.code == "malformed_identifier"


def test_uscc_check_character_covers_every_remainder() -> None:
    # Whatever the first 17 characters, the completed code passes its own check.
    for filler in ("0", "1", "A", "Y"):
        body = "91" + "350100" + filler * 9
        assert check_uscc(body + uscc_check_character(body))
