"""The green-certificate claim's EIP-712 encoding (``verifier.protocol.green_certificates``):
what a standard wallet signs is what the ledger and the verifier recover, every field is
signed, and a claim that does not hold together is refused before any signature is read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from verifier.errors import InvalidRecord
from verifier.protocol.green_certificates import (
    GreenCertificateClaim,
    claim_digest,
    claim_typed_data,
    sign_claim,
)
from verifier.protocol.keccak import keccak256
from verifier.protocol.typed_data import Domain, recover_signer

DOMAIN = Domain(1337, "0x" + "ab" * 20)
CLAIM = GreenCertificateClaim(
    enterprise="88.118.8/ENT-GEC",
    period_start=date(2025, 6, 1),
    period_end=date(2025, 6, 30),
    programme="GEC",
    serial_prefix="T-WIND-2025",
    first_serial=1_000_001,
    last_serial=1_000_250,
    mwh=250,
    vintage_start=date(2025, 3, 1),
    vintage_end=date(2025, 3, 31),
    technology="wind",
    attachment_hash="0x" + keccak256(b"certificates.pdf").hex(),
    claimed_at=1_751_328_000,
)


def test_a_wallets_signature_recovers_to_its_address() -> None:
    account = Account.create()
    signable = encode_typed_data(full_message=claim_typed_data(DOMAIN, CLAIM))
    signed = account.sign_message(signable)
    assert recover_signer(claim_digest(DOMAIN, CLAIM), signed.signature) == account.address
    ours = sign_claim(bytes(account.key), DOMAIN, CLAIM)
    assert recover_signer(claim_digest(DOMAIN, CLAIM), ours) == account.address


def test_every_field_is_signed_and_the_message_round_trips() -> None:
    assert GreenCertificateClaim.from_message(CLAIM.to_message()) == CLAIM
    changed = {
        "enterprise": "88.118.8/ENT-OTHER",
        "period_end": date(2025, 6, 29),
        "serial_prefix": "T-SOLAR-2025",
        "vintage_end": date(2025, 3, 30),
        "technology": "solar",
        "attachment_hash": "0x" + "00" * 32,
        "claimed_at": 1_751_328_001,
    }
    digests = {claim_digest(DOMAIN, replace(CLAIM, **{k: v})) for k, v in changed.items()}
    for first, last in ((1_000_002, 1_000_251), (1_000_001, 1_000_251)):
        shifted = replace(CLAIM, first_serial=first, last_serial=last, mwh=last - first + 1)
        digests.add(claim_digest(DOMAIN, shifted))
    assert claim_digest(DOMAIN, CLAIM) not in digests and len(digests) == len(changed) + 2


@pytest.mark.parametrize(
    "changes",
    [
        {"mwh": 251},  # more MWh than the range has certificates
        {"last_serial": 1_000_000},  # ends before it starts
        {"programme": "I-REC"},
        {"technology": "coal"},
        {"attachment_hash": "0xABC"},
        {"serial_prefix": "bad prefix"},
        {"vintage_end": date(2025, 2, 1)},
    ],
)
def test_an_inconsistent_claim_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidRecord):
        replace(CLAIM, **changes)


def test_a_message_with_an_extra_or_missing_field_is_refused() -> None:
    message = CLAIM.to_message()
    with pytest.raises(InvalidRecord):
        GreenCertificateClaim.from_message({**message, "note": "x"})
    del message["mwh"]
    with pytest.raises(InvalidRecord):
        GreenCertificateClaim.from_message(message)


def test_the_vintage_must_fall_in_the_periods_years() -> None:
    assert CLAIM.vintage_fits()
    last_year = replace(CLAIM, vintage_start=date(2024, 12, 1), vintage_end=date(2024, 12, 31))
    assert not last_year.vintage_fits()
    assert CLAIM.overlaps(replace(CLAIM, first_serial=1_000_250, last_serial=1_000_300, mwh=51))
    assert not CLAIM.overlaps(replace(CLAIM, serial_prefix="T-WIND-2024"))
