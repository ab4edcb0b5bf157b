"""Byte-exact interop with the npm ``@openzeppelin/merkle-tree`` 1.0.8 (driven via node)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from verifier.protocol.keccak import to_checksum_address
from verifier.protocol.leaves import LEAF_ENCODING
from verifier.protocol.merkle import Multiproof, StandardMerkleTree, verify_multiproof, verify_proof

RunOz = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]

SIZES = [1, 2, 3, 7, 100, 1000]
GENERIC = ["address", "uint256", "string"]
DYNAMIC = ["string", "bytes", "uint256[]", "bool", "int32", "(address,bytes4)"]


def _fixed_values(rng: random.Random, n: int) -> list[list[Any]]:
    return [
        [str(rng.randint(1, 5)), "0x" + rng.randbytes(32).hex(), "0x" + rng.randbytes(32).hex()]
        for _ in range(n)
    ]


def _generic_values(rng: random.Random, n: int) -> list[list[Any]]:
    alphabet = "abcxyz 碳效码✓é"
    return [
        [
            to_checksum_address(rng.randbytes(20)),
            str(rng.getrandbits(rng.choice([8, 64, 256]))),
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))),
        ]
        for _ in range(n)
    ]


def _dynamic_values(rng: random.Random, n: int) -> list[list[Any]]:
    return [
        [
            f"s{i}",
            "0x" + rng.randbytes(rng.randint(0, 70)).hex(),
            [str(rng.getrandbits(256)) for _ in range(rng.randint(0, 3))],
            rng.random() < 0.5,
            str(rng.randint(-(2**31), 2**31 - 1)),
            [to_checksum_address(rng.randbytes(20)), "0x" + rng.randbytes(4).hex()],
        ]
        for i in range(n)
    ]


def _case(encoding: list[str], values: list[list[Any]], rng: random.Random, **kw: Any) -> dict:
    n = len(values)
    multi = sorted(rng.sample(range(n), k=min(n, rng.randint(1, 6))))
    if n >= 4:
        multi = sorted({*multi, 0, 1})  # include adjacent leaves so proofFlags has `true`s
    return {
        "op": "build",
        "leafEncoding": encoding,
        "values": values,
        "proofIndex": rng.randrange(n),
        "multiIndices": multi,
        **kw,
    }


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(20240611)
    cases = []
    for n in SIZES:
        cases.append(_case(list(LEAF_ENCODING), _fixed_values(rng, n), rng))
        cases.append(_case(GENERIC, _generic_values(rng, n), rng))
    cases.append(_case(DYNAMIC, _dynamic_values(rng, 7), rng))
    cases.append(_case(GENERIC, _generic_values(rng, 9), rng, sortLeaves=False))
    return cases


def _hexes(nodes: list[bytes] | tuple[bytes, ...]) -> list[str]:
    return ["0x" + x.hex() for x in nodes]


@pytest.fixture(scope="module")
def built(run_oz: RunOz) -> list[tuple[dict, dict, StandardMerkleTree]]:
    cases = _cases()
    answers = run_oz(cases)
    trees = [
        StandardMerkleTree.of(c["values"], c["leafEncoding"], sort_leaves=c.get("sortLeaves", True))
        for c in cases
    ]
    return list(zip(cases, answers, trees, strict=True))


def test_build_matches_js(built: list[tuple[dict, dict, StandardMerkleTree]]) -> None:
    for case, js, tree in built:
        assert "error" not in js, js
        assert js["root"] == "0x" + tree.root.hex()
        assert js["proof"] == _hexes(tree.get_proof(case["proofIndex"]))
        ours = tree.get_multiproof(case["multiIndices"]).to_json(tree.leaf_encoding)
        assert js["multiproof"] == ours
        assert js["dump"] == tree.dump()
        if tree.tree.leaf_count <= 100:
            assert js["render"] == tree.render()


def test_js_dump_loads_and_js_proofs_verify(
    built: list[tuple[dict, dict, StandardMerkleTree]],
) -> None:
    for case, js, tree in built:
        loaded = StandardMerkleTree.load(js["dump"])
        assert loaded.root == tree.root
        root = bytes.fromhex(js["root"][2:])
        value = case["values"][case["proofIndex"]]
        proof = [bytes.fromhex(p[2:]) for p in js["proof"]]
        assert verify_proof(root, loaded.leaf_hash(value), proof)
        leaves = [loaded.leaf_hash(v) for v in js["multiproof"]["leaves"]]
        mp = Multiproof.from_json({**js["multiproof"], "leaves": _hexes(leaves)})
        assert verify_multiproof(root, mp.leaves, mp.proof, mp.proof_flags)


def test_our_dump_and_proofs_accepted_by_js(
    run_oz: RunOz, built: list[tuple[dict, dict, StandardMerkleTree]]
) -> None:
    checks = []
    for case, _, tree in built:
        checks.append(
            {
                "op": "check",
                "dump": tree.dump(),
                "proofIndex": case["proofIndex"],
                "proof": _hexes(tree.get_proof(case["proofIndex"])),
                "multiproof": tree.get_multiproof(case["multiIndices"]).to_json(tree.leaf_encoding),
            }
        )
    for (_, _, tree), answer in zip(built, run_oz(checks), strict=True):
        assert answer == {"root": "0x" + tree.root.hex(), "proofOk": True, "multiOk": True}


def test_js_values_in_other_spellings_load(run_oz: RunOz) -> None:
    """JS keeps values as given; lowercase addresses and hex uints must still load and match."""
    values = [
        ["0x" + "ab" * 20, "0x10", "x"],
        ["0x" + "CD" * 20, "7", ""],
        ["0x" + "01" * 20, "0", "y"],
    ]
    (js,) = run_oz([{**_case(GENERIC, values, random.Random(1)), "values": values}])
    loaded = StandardMerkleTree.load(js["dump"])
    assert "0x" + loaded.root.hex() == js["root"]
    assert loaded.values[0] == (to_checksum_address(bytes.fromhex("ab" * 20)), 16, "x")


def test_js_rejects_what_we_reject(run_oz: RunOz) -> None:
    tree = StandardMerkleTree.of(_fixed_values(random.Random(2), 5), LEAF_ENCODING)
    dump = tree.dump()
    dump["tree"][1] = "0x" + bytes(32).hex()
    (answer,) = run_oz(
        [{"op": "check", "dump": dump, "proofIndex": 0, "proof": [], "multiproof": {}}]
    )
    assert "error" in answer
