"""The EvaluationPublication statement: any EIP-712 wallet signs the digest the verifier checks,
and one statement has one spelling (so one digest, and one registry event)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from verifier.errors import InvalidRecord
from verifier.protocol.publication import (
    ZERO_PREV,
    Publication,
    publication_digest,
    publication_typed_data,
)
from verifier.protocol.typed_data import Domain, recover_signer

DOMAIN = Domain(1337, "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab")
FIRST = Publication(
    "publish", "88.118.8/ENT-X", "88.118.8/CL-EVAL-1", "0x" + "ab" * 32, 1, ZERO_PREV, 1_764_547_200
)


def test_a_wallet_signs_what_the_verifier_checks() -> None:
    wallet = Account.create()
    signed = wallet.sign_message(
        encode_typed_data(full_message=publication_typed_data(DOMAIN, FIRST))
    )
    assert recover_signer(publication_digest(DOMAIN, FIRST), signed.signature) == wallet.address


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("index", "01", "leading zeros"),
        ("index", "0", "counts from 1"),
        ("prev", "0x" + "cd" * 32, "prev is zero exactly"),
        ("entry", "0x" + "AB" * 32, "lower-case"),
        ("action", "unpublish", "action must be one of"),
        ("action", ["publish"], "action must be one of"),
        ("at", "1e9", "integer"),
    ],
)
def test_one_statement_has_one_spelling(field: str, value: object, reason: str) -> None:
    message = {**FIRST.to_message(), field: value}
    with pytest.raises(InvalidRecord, match=reason):
        Publication.from_message(message)
