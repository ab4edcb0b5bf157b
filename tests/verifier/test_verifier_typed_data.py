"""EIP-712 for the activity record: spec vector, eth-account equality, signatures; and the one
envelope (digest, document) every other signed struct of the protocol shares."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.verifier.eip712 import typed_data_digest
from verifier.errors import (
    InvalidRecord,
    InvalidRecoveryId,
    MalformedSignature,
    MalleableSignature,
    SignatureError,
    UnrecoverableSignature,
)
from verifier.protocol.asset_ops import AssetOperation, asset_operation_digest, asset_typed_data
from verifier.protocol.declarations import (
    COUNTERSIGNATURE_TYPE,
    AddedValueDeclaration,
    countersignature_digest,
    declaration_digest,
    declaration_typed_data,
)
from verifier.protocol.events import SIGNER_SET
from verifier.protocol.green_certificates import (
    GreenCertificateClaim,
    claim_digest,
    claim_typed_data,
)
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.publication import (
    ZERO_PREV,
    Publication,
    publication_digest,
    publication_typed_data,
)
from verifier.protocol.registry_ops import (
    RegistryOperation,
    registry_operation_digest,
    registry_typed_data,
)
from verifier.protocol.typed_data import (
    SECP256K1_N,
    ActivityRecord,
    Domain,
    attributes_hash,
    encode_type,
    hash_struct,
    normalize_signature,
    parse_typed_data,
    record_digest,
    recover_signer,
    sign_digest,
    sign_record,
    typed_data,
    typed_document,
)

COW_KEY = keccak256(b"cow")
COW_ADDRESS = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
MAIL = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [
            {"name": "from", "type": "Person"},
            {"name": "to", "type": "Person"},
            {"name": "contents", "type": "string"},
        ],
    },
    "primaryType": "Mail",
    "domain": {
        "name": "Ether Mail",
        "version": "1",
        "chainId": 1,
        "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
    },
    "message": {
        "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!",
    },
}
DOMAIN = Domain(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")


def _eth_account_digest(document: dict) -> bytes:
    signable = encode_typed_data(full_message=document)
    return keccak256(b"\x19" + signable.version + signable.header + signable.body)


def test_mail_vector_through_generic_encoder() -> None:
    types = MAIL["types"]
    assert encode_type("Mail", types) == (
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
    )
    assert keccak256(encode_type("Mail", types).encode()).hex().startswith("a0cedeb2")
    assert hash_struct("Mail", types, MAIL["message"]).hex().startswith("c52c0ee5")
    assert hash_struct("EIP712Domain", types, MAIL["domain"]).hex().startswith("f2cee375")
    digest = typed_data_digest(MAIL)
    assert digest.hex() == "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
    signature = sign_digest(COW_KEY, digest)
    assert signature.hex() == (
        "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
        "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562" + "1c"
    )
    assert recover_signer(digest, signature) == COW_ADDRESS


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_address = st.binary(min_size=20, max_size=20).map(to_checksum_address)
_u64 = st.integers(0, 2**64 - 1)
records = st.builds(
    ActivityRecord,
    enterprise=_text,
    source=_text,
    device=_address,
    seq=_u64,
    activity=_text,
    quantity=st.integers(0, 2**256 - 1),
    decimals=st.integers(0, 255),
    unit=_text,
    period_start=_u64,
    period_end=_u64,
    attributes_hash=st.binary(min_size=32, max_size=32),
)
domains = st.builds(Domain, chain_id=st.integers(0, 2**256 - 1), verifying_contract=_address)
keys = st.integers(1, SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))


@settings(max_examples=150, deadline=None)
@given(domains, records)
def test_record_digest_equals_eth_account(domain: Domain, record: ActivityRecord) -> None:
    document = typed_data(domain, record)
    expected = _eth_account_digest(json.loads(json.dumps(document)))
    assert record_digest(domain, record) == expected == typed_data_digest(document)
    assert parse_typed_data(json.loads(json.dumps(document))) == (domain, record)


ENTERPRISE = "88.118.8/ENT-ENVELOPE-1"
AT = 1_750_000_000  # 2025-06-15T15:06:40Z
DECLARATION = AddedValueDeclaration.of(
    ENTERPRISE, date(2025, 6, 1), date(2025, 6, 30), Decimal("1234.5"), AT
)
DECLARED = declaration_digest(DOMAIN, DECLARATION)
COUNTERSIGNATURE_FIELDS = [
    {"name": "declaration", "type": "bytes32"},
    {"name": "countersigner", "type": "string"},
]


def _asset() -> tuple[bytes, dict[str, Any]]:
    op = AssetOperation(
        "transfer", "88.118.8/LOT-1", "CCER", 2024, "CCER-2024-", 1, 100, ENTERPRISE,
        "88.118.8/ENT-ENVELOPE-2", bytes(range(32)), "", AT,
    )  # fmt: skip
    return asset_operation_digest(DOMAIN, op), asset_typed_data(DOMAIN, op)


def _registry() -> tuple[bytes, dict[str, Any]]:
    details = '{"signer":"' + COW_ADDRESS + '"}'
    op = RegistryOperation(SIGNER_SET, ENTERPRISE, ENTERPRISE, details, 3, bytes(range(32)), AT)
    return registry_operation_digest(DOMAIN, op), registry_typed_data(DOMAIN, op)


def _claim() -> tuple[bytes, dict[str, Any]]:
    claim = GreenCertificateClaim(
        ENTERPRISE, date(2025, 1, 1), date(2025, 12, 31), "GEC", "GEC2025", 1_001, 1_100, 100,
        date(2025, 1, 1), date(2025, 6, 30), "solar", "0x" + "ab" * 32, AT,
    )  # fmt: skip
    return claim_digest(DOMAIN, claim), claim_typed_data(DOMAIN, claim)


def _publication() -> tuple[bytes, dict[str, Any]]:
    statement = Publication(
        "publish", ENTERPRISE, "88.118.8/EVAL-1", "0x" + "cd" * 32, 1, ZERO_PREV, AT
    )
    return publication_digest(DOMAIN, statement), publication_typed_data(DOMAIN, statement)


def _countersignature() -> tuple[bytes, dict[str, Any]]:
    # The documented type string, DeclarationCountersignature(bytes32 declaration,string
    # countersigner): the ledger serves no document for it, so the test writes one.
    message = {"declaration": "0x" + DECLARED.hex(), "countersigner": "CQC"}
    document = typed_document(DOMAIN, COUNTERSIGNATURE_TYPE, COUNTERSIGNATURE_FIELDS, message)
    return countersignature_digest(DOMAIN, DECLARED, "CQC"), document


SIGNED_STRUCTS: dict[str, Callable[[], tuple[bytes, dict[str, Any]]]] = {
    "asset operation": _asset,
    "registry operation": _registry,
    "added-value declaration": lambda: (DECLARED, declaration_typed_data(DOMAIN, DECLARATION)),
    "countersignature": _countersignature,
    "green-certificate claim": _claim,
    "publication": _publication,
}


@pytest.mark.parametrize("kind", SIGNED_STRUCTS)
def test_every_signed_struct_shares_the_envelope(kind: str) -> None:
    """Each struct's digest is eth-account's digest of the document a wallet is given."""
    digest, document = SIGNED_STRUCTS[kind]()
    assert document["domain"] == DOMAIN.as_dict()
    assert digest == _eth_account_digest(json.loads(json.dumps(document)))


@settings(max_examples=40, deadline=None)
@given(keys, domains, records)
def test_signature_equals_eth_account_and_recovers(
    key: bytes, domain: Domain, record: ActivityRecord
) -> None:
    signature = sign_record(key, domain, record)
    expected = Account.sign_typed_data(key, full_message=typed_data(domain, record)).signature
    assert signature == bytes(expected)
    assert recover_signer(record_digest(domain, record), signature) == Account.from_key(key).address


def _record(**changes: object) -> ActivityRecord:
    fields = {
        "enterprise": "88.118.8/ENT-0001",
        "source": "88.118.8/ENT-0001/SRC-kiln-1",
        "device": "0x" + "11" * 20,
        "seq": 42,
        "activity": "fuel.natural_gas",
        "quantity": 123_456,
        "decimals": 3,
        "unit": "m3",
        "period_start": 1_700_000_000,
        "period_end": 1_700_003_600,
        "attributes_hash": attributes_hash({"meter": "M-7", "calibrated": True}),
    }
    return ActivityRecord(**{**fields, **changes})  # type: ignore[arg-type]


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    flipped_v = 55 - signature[64]  # 27 <-> 28: (r, n-s, v^1) is the same signature, remixed
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((flipped_v,))


def test_high_s_and_bad_v_are_rejected() -> None:
    digest = record_digest(DOMAIN, _record())
    signature = sign_record(COW_KEY, DOMAIN, _record())
    with pytest.raises(MalleableSignature):
        recover_signer(digest, _high_s(signature))
    zero_one = signature[:64] + bytes((signature[64] - 27,))
    with pytest.raises(InvalidRecoveryId):
        recover_signer(digest, zero_one)
    assert normalize_signature(zero_one) == signature
    assert recover_signer(digest, normalize_signature(zero_one)) == COW_ADDRESS
    with pytest.raises(InvalidRecoveryId):
        recover_signer(digest, signature[:64] + b"\x1d")
    with pytest.raises(MalformedSignature):
        recover_signer(digest, signature[:64])
    with pytest.raises(MalformedSignature):
        recover_signer(digest, bytes(32) + signature[32:])
    with pytest.raises(MalformedSignature):
        recover_signer(digest, signature[:32] + SECP256K1_N.to_bytes(32, "big") + b"\x1b")


def test_unrecoverable_signature() -> None:
    digest, s = bytes(range(32)), (1).to_bytes(32, "big")
    raised = 0
    for r in range(1, 30):  # about half of all x-coordinates are not on the curve
        try:
            recover_signer(digest, r.to_bytes(32, "big") + s + b"\x1b")
        except UnrecoverableSignature:
            raised += 1
    assert raised > 0
    assert issubclass(UnrecoverableSignature, SignatureError)


def test_domain_binds_chain_and_contract() -> None:
    record = _record()
    signature = sign_record(COW_KEY, DOMAIN, record)
    other_chain = Domain(1, DOMAIN.verifying_contract)
    other_contract = Domain(DOMAIN.chain_id, "0x" + "22" * 20)
    for domain in (other_chain, other_contract):
        assert recover_signer(record_digest(domain, record), signature) != COW_ADDRESS


def test_every_field_is_signed() -> None:
    base = record_digest(DOMAIN, _record())
    changes = {
        "enterprise": "x",
        "source": "x",
        "device": "0x" + "12" * 20,
        "seq": 43,
        "activity": "x",
        "quantity": 1,
        "decimals": 2,
        "unit": "t",
        "period_start": 1,
        "period_end": 2,
        "attributes_hash": bytes(32),
    }
    for name, value in changes.items():
        assert record_digest(DOMAIN, _record(**{name: value})) != base, name


def test_typed_data_document_shape() -> None:
    document = typed_data(DOMAIN, _record())
    assert document["primaryType"] == "ActivityRecord"
    assert document["domain"] == {
        "name": "carbon-ledger",
        "version": "1",
        "chainId": 1337,
        "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    }
    assert encode_type("ActivityRecord", document["types"]) == (
        "ActivityRecord(string enterprise,string source,address device,uint64 seq,"
        "string activity,uint256 quantity,uint8 decimals,string unit,uint64 periodStart,"
        "uint64 periodEnd,bytes32 attributesHash)"
    )
    assert document["message"]["quantity"] == "123456"


def test_parse_typed_data_refuses_look_alikes() -> None:
    document = typed_data(DOMAIN, _record())
    renamed = json.loads(json.dumps(document))
    renamed["domain"]["name"] = "other-ledger"
    extra = json.loads(json.dumps(document))
    extra["types"]["ActivityRecord"].append({"name": "note", "type": "string"})
    for bad in (renamed, extra):
        with pytest.raises(InvalidRecord):
            parse_typed_data(bad)


def test_attributes_hash_is_canonical() -> None:
    assert attributes_hash(None) == attributes_hash({}) == bytes(32)
    assert attributes_hash({"b": 1, "a": "x"}) == attributes_hash({"a": "x", "b": 1})
    assert attributes_hash({"a": "x", "b": 1}) == keccak256(b'{"a":"x","b":1}')


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": -1},
        {"seq": 2**64},
        {"decimals": 256},
        {"quantity": True},
        {"device": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"},  # bad EIP-55 case
        {"device": "0x1234"},
        {"attributes_hash": b"\x00"},
        {"unit": "\ud800"},
        {"enterprise": None},
    ],
)
def test_record_field_checks(changes: dict) -> None:
    with pytest.raises(InvalidRecord):
        _record(**changes)


def test_device_is_normalised_to_checksum() -> None:
    record = _record(device="0x" + "ab" * 20)
    assert record.device == to_checksum_address(bytes.fromhex("ab" * 20))
