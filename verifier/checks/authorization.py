"""Was the signing terminal authorised for this source when it signed? (check ``authorization``)

The ledger records every registry change as an anchored kind-3 leaf: the canonical JSON of the
event, hashed. A record bundle carries the events about its terminal. The terminal was
authorised when an anchored ``device.registered`` event binds it to the record's enterprise and
source, and any ``device.revoked`` / ``device.rotated`` event about it was anchored no earlier
than the record itself: the ledger refuses a revoked key's records, and anchors leaves in the
order it accepted them, so a record anchored after the revocation was never accepted honestly.
"""

from __future__ import annotations

import rfc8785

from verifier.checks.record import (
    AnchorClaim,
    VerificationFailure,
    check_manifest_counts,
    check_merkle_path,
)
from verifier.formats.record import RegistryProofJson
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import ActivityRecord

REGISTERED = "device.registered"
ENDED = ("device.revoked", "device.rotated")
EVENT_FORMAT = "carbon-ledger/registry-event"


class TerminalNotAuthorised(VerificationFailure):
    """No anchored registry event authorises the terminal for this record."""

    check = "authorization"


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def _check_event(proof: RegistryProofJson, index: int) -> AnchorClaim:
    """The event hashes to its leaf, the leaf sits under an anchored-looking root."""
    where = f"authorization[{index}]: "
    event = proof.event
    if event.get("format") != EVENT_FORMAT or event.get("version") != 1:
        raise TerminalNotAuthorised(f"{where}not a {EVENT_FORMAT} v1 event")
    digest = keccak256(rfc8785.dumps(event))
    leaf = proof.leaf
    if leaf.kind != LeafKind.REGISTRY_EVENT or _unhex(leaf.digest) != digest:
        raise TerminalNotAuthorised(f"{where}the event does not hash to its kind-3 leaf")
    expected = leaf_hash(LeafKind.REGISTRY_EVENT, digest, bytes(32))
    if _unhex(leaf.aux) != bytes(32) or _unhex(leaf.hash) != expected:
        raise TerminalNotAuthorised(f"{where}leaf hash differs from the event's")
    claim = AnchorClaim.of(proof.batch, proof.anchor)
    try:
        check_merkle_path(
            expected, tuple(_unhex(p) for p in proof.proof), claim.root, proof.batch.leaf_count
        )
        check_manifest_counts(proof.batch, claim.manifest_hash)
    except VerificationFailure as exc:
        raise TerminalNotAuthorised(where + exc.reason) from None
    return claim


def check_authorization(
    proofs: tuple[RegistryProofJson, ...], record: ActivityRecord, record_block: int
) -> tuple[str, list[AnchorClaim]]:
    """A detail line and the events' anchor claims (for the on-chain checks)."""
    claims = [_check_event(p, i) for i, p in enumerate(proofs)]
    events = [(p.event, c) for p, c in zip(proofs, claims, strict=True)]
    if any(e.get("subject") != record.device for e, _ in events):
        raise TerminalNotAuthorised("an event in the bundle is about another terminal")
    binding = next(
        (
            c
            for e, c in events
            if e.get("type") == REGISTERED
            and e.get("enterprise") == record.enterprise
            and record.source in e.get("sources", ())
        ),
        None,
    )
    if binding is None:
        raise TerminalNotAuthorised(
            f"no anchored registration binds {record.device} to {record.enterprise} / "
            f"{record.source}"
        )
    for event, claim in events:
        if event.get("type") in ENDED and record_block > claim.block_number:
            raise TerminalNotAuthorised(
                f"the record was anchored in block {record_block}, after the terminal's "
                f"{event['type']} event was anchored in block {claim.block_number}"
            )
    ended = [e["type"] for e, _ in events if e.get("type") in ENDED]
    status = f", {ended[0]} later" if ended else ", never revoked"
    return f"registered for {record.source} in block {binding.block_number}{status}", claims
