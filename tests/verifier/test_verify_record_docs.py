"""The example in docs/proof-format.md is a real bundle: it verifies offline, and the byte-level
statements next to it hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import rfc8785

from verifier.checks.record import parse_bundle, verify_record
from verifier.protocol.keccak import keccak256

DOC = Path(__file__).resolve().parents[2] / "docs" / "proof-format.md"


def _example() -> dict:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return json.loads(blocks[-1])


def test_doc_example_verifies_offline() -> None:
    result = verify_record(parse_bundle(_example()), None)
    assert result.valid, result.failure


def test_doc_example_manifest_bytes_and_constants() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = _example()
    canonical = rfc8785.dumps(example["batch"]["manifest"])
    assert canonical.decode() in text
    assert "0x" + keccak256(canonical).hex() == example["batch"]["manifestHash"]
    assert "0x" + keccak256(b"batchOf(bytes32)")[:4].hex() in text
    assert "0x" + keccak256(b"Anchored(uint256,bytes32,uint64,bytes32)").hex() in text
