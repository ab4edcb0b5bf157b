"""EIP-712 for carbon-asset operations: digests equal eth-account's (an independent encoder),
signatures equal Account.sign_typed_data, every field's range and shape is enforced."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import InvalidAssetOperation, InvalidRecord
from verifier.protocol.asset_ops import (
    ASSET_OPERATION_TYPE_STRING,
    AssetOperation,
    asset_operation_digest,
    asset_operation_leaf,
    asset_typed_data,
    parse_asset_typed_data,
    sign_asset_operation,
)
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import Domain, hash_struct, recover_signer

DOMAIN = Domain(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
KEY = keccak256(b"cow")
U64_MAX = 2**64 - 1
TRANSFER = AssetOperation(
    action="transfer",
    asset="88.118.8/CL-AST-2025CEA0001",
    program="CEA",
    vintage=2025,
    serial_prefix="CN-CEA-2025-",
    first=1_000_001,
    last=1_000_400,
    owner="88.118.8/ENT-0001",
    recipient="88.118.8/ENT-0002",
    prev=bytes(range(32)),
    reference="合同 2026-17",
    timestamp=1_767_229_200,
)


def _eth_account_digest(document: dict[str, Any]) -> bytes:
    signable = encode_typed_data(full_message=document)
    return keccak256(b"\x19" + signable.version + signable.header + signable.body)


def test_type_string() -> None:
    assert ASSET_OPERATION_TYPE_STRING == (
        "AssetOperation(string action,string asset,string program,uint16 vintage,"
        "string serialPrefix,uint64 first,uint64 last,string owner,string recipient,"
        "bytes32 prev,string reference,uint64 timestamp)"
    )


def test_message_json_is_exact() -> None:
    assert json.dumps(TRANSFER.to_message(), ensure_ascii=False) == (
        '{"action": "transfer", "asset": "88.118.8/CL-AST-2025CEA0001", "program": "CEA", '
        '"vintage": 2025, "serialPrefix": "CN-CEA-2025-", "first": 1000001, "last": 1000400, '
        '"owner": "88.118.8/ENT-0001", "recipient": "88.118.8/ENT-0002", "prev": "0x'
        + bytes(range(32)).hex()
        + '", "reference": "合同 2026-17", "timestamp": 1767229200}'
    )


@pytest.mark.parametrize(
    "op",
    [
        TRANSFER,
        replace(TRANSFER, action="issue", recipient="", prev=bytes(32), reference=""),
        replace(TRANSFER, action="retire", recipient="", first=0, last=U64_MAX),
        replace(TRANSFER, action="surrender", recipient="", vintage=2100, timestamp=U64_MAX),
        replace(TRANSFER, program="CCER", serial_prefix=" ~", asset="资产/" + "x" * 125),
    ],
)
def test_digest_equals_eth_account(op: AssetOperation) -> None:
    document = asset_typed_data(DOMAIN, op)
    assert asset_operation_digest(DOMAIN, op) == _eth_account_digest(document)


def test_digest_equals_the_generic_encoder() -> None:
    document = asset_typed_data(DOMAIN, TRANSFER)
    struct = hash_struct("AssetOperation", document["types"], document["message"])
    separator = hash_struct("EIP712Domain", document["types"], document["domain"])
    assert asset_operation_digest(DOMAIN, TRANSFER) == keccak256(b"\x19\x01" + separator + struct)


def test_digest_is_bound_to_the_domain() -> None:
    digests = {
        asset_operation_digest(domain, TRANSFER)
        for domain in (DOMAIN, Domain(1, DOMAIN.verifying_contract), Domain(1337, "0x" + "42" * 20))
    }
    assert len(digests) == 3


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(0, U64_MAX),
    span=st.integers(0, 10**6),
    vintage=st.integers(2000, 2100),
    reference=st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
)
def test_digest_equals_eth_account_for_any_values(
    first: int, span: int, vintage: int, reference: str
) -> None:
    op = replace(
        TRANSFER, first=first, last=min(first + span, U64_MAX), vintage=vintage, reference=reference
    )
    assert asset_operation_digest(DOMAIN, op) == _eth_account_digest(asset_typed_data(DOMAIN, op))


def test_signature_equals_eth_account_and_recovers() -> None:
    signature = sign_asset_operation(KEY, DOMAIN, TRANSFER)
    expected = Account.sign_typed_data(KEY, full_message=asset_typed_data(DOMAIN, TRANSFER))
    assert signature == bytes(expected.signature)
    address = Account.from_key(KEY).address
    assert recover_signer(asset_operation_digest(DOMAIN, TRANSFER), signature) == address


def test_leaf_is_kind_5_of_digest_and_signature_hash() -> None:
    signature = sign_asset_operation(KEY, DOMAIN, TRANSFER)
    leaf = asset_operation_leaf(DOMAIN, TRANSFER, signature)
    assert leaf.kind is LeafKind.ASSET_OPERATION and int(leaf.kind) == 5
    assert leaf.digest == asset_operation_digest(DOMAIN, TRANSFER)
    assert leaf.aux == keccak256(signature)
    assert leaf.hash() == leaf_hash(5, leaf.digest, keccak256(signature))
    with pytest.raises(InvalidAssetOperation):
        asset_operation_leaf(DOMAIN, TRANSFER, signature[:64])


def test_message_round_trip_and_decimal_strings() -> None:
    message = TRANSFER.to_message()
    assert AssetOperation.from_message(message) == TRANSFER
    as_strings = {**message, "first": "1000001", "last": "1000400", "vintage": "2025"}
    assert AssetOperation.from_message(as_strings) == TRANSFER


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"prev": "0x1234"},
        {"prev": bytes(range(32)).hex()},
        {"first": True},
        {"first": "1e6"},
        {"last": -1},
        {"timestamp": 1.5},
    ],
)
def test_from_message_refuses(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidAssetOperation):
        AssetOperation.from_message(TRANSFER.to_message() | change)


def test_from_message_refuses_missing_field() -> None:
    message = TRANSFER.to_message()
    del message["reference"]
    with pytest.raises(InvalidAssetOperation):
        AssetOperation.from_message(message)


@pytest.mark.parametrize(
    "field",
    [
        {"action": "mint"},
        {"asset": ""},
        {"asset": "x" * 129},
        {"asset": "\ud800"},
        {"program": "cea"},
        {"program": "C"},
        {"program": "C" * 17},
        {"program": "1CEA"},
        {"vintage": 1999},
        {"vintage": 2101},
        {"vintage": True},
        {"serial_prefix": ""},
        {"serial_prefix": "x" * 65},
        {"serial_prefix": "CN-CÉA-"},
        {"serial_prefix": "CN\n"},
        {"first": -1},
        {"last": 2**64},
        {"owner": ""},
        {"owner": 7},
        {"recipient": "x" * 129},
        {"prev": bytes(31)},
        {"prev": "00" * 32},
        {"reference": "x" * 513},
        {"timestamp": 2**64},
    ],
)
def test_field_ranges(field: dict[str, Any]) -> None:
    with pytest.raises(InvalidAssetOperation):
        replace(TRANSFER, **field)


def test_edges_are_accepted() -> None:
    op = replace(
        TRANSFER,
        asset="x" * 128,
        program="AB",
        vintage=2000,
        serial_prefix="~" * 64,
        reference="x" * 512,
        first=U64_MAX,
        last=0,  # first <= last is a rule of the lot (range_invalid), not a field's range
    )
    assert op.first == U64_MAX


def test_invalid_asset_operation_is_an_invalid_record() -> None:
    assert issubclass(InvalidAssetOperation, InvalidRecord)


def test_typed_data_round_trip() -> None:
    document = json.loads(json.dumps(asset_typed_data(DOMAIN, TRANSFER)))
    assert parse_asset_typed_data(document) == (DOMAIN, TRANSFER)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(primaryType="ActivityRecord"),
        lambda d: d["types"].update(Extra=[{"name": "x", "type": "string"}]),
        lambda d: d["types"]["AssetOperation"].reverse(),
        lambda d: d["domain"].update(name="other"),
        lambda d: d["domain"].update(version="2"),
        lambda d: d["domain"].update(salt="0x" + "00" * 32),
        lambda d: d["domain"].update(verifyingContract="0x1234"),
        lambda d: d["domain"].update(chainId="one"),
    ],
)
def test_typed_data_refuses_look_alikes(change: Any) -> None:
    document = json.loads(json.dumps(asset_typed_data(DOMAIN, TRANSFER)))
    change(document)
    with pytest.raises(InvalidAssetOperation):
        parse_asset_typed_data(document)


def test_domain_contract_is_checksummed_in_the_document() -> None:
    lower = Domain(1337, DOMAIN.verifying_contract.lower())
    contract = asset_typed_data(lower, TRANSFER)["domain"]["verifyingContract"]
    assert contract == to_checksum_address(bytes.fromhex(DOMAIN.verifying_contract[2:]))


def test_the_format_doc_states_the_type_and_an_exact_digest() -> None:
    """docs/asset-proof-format.md: its type string, and its example message hashes to the digest
    it states (the issue it links to is rebuilt from the doc's own example history)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "asset-proof-format.md").read_text(
        encoding="utf-8"
    )
    assert ASSET_OPERATION_TYPE_STRING in doc
    message = json.loads(re.search(r"```\n(\{\n  \"action\".*?\})\n```", doc, re.S)[1])
    transfer = AssetOperation.from_message(message)
    issue = replace(
        transfer,
        action="issue",
        last=1_001_000,
        recipient="",
        prev=bytes(32),
        reference="MEE-CEA-2025-ISSUE-0001",
        timestamp=transfer.timestamp - 3600,
    )
    assert transfer.prev == asset_operation_digest(DOMAIN, issue)
    assert "0x" + asset_operation_digest(DOMAIN, transfer).hex() in doc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(sorted(TRANSFER.to_message())), value=json_values)
def test_from_message_refuses_any_bad_value_with_its_own_error(field: str, value: Any) -> None:
    """What an API client may send: any JSON value in any field is accepted or refused with
    InvalidAssetOperation, never another exception."""
    with contextlib.suppress(InvalidAssetOperation):
        AssetOperation.from_message(TRANSFER.to_message() | {field: value})
