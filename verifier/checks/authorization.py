"""Was the signing terminal authorised for this source when it signed? (check ``authorization``)

The ledger records every registry change as an anchored kind-3 leaf: the canonical JSON of the
event, hashed. A record bundle carries the events about its terminal. The terminal was
authorised when an anchored ``device.registered`` event binds it to the record's enterprise and
source, and any ``device.revoked`` / ``device.rotated`` event about it was anchored no earlier
than the record itself: the ledger refuses a revoked key's records, and anchors leaves in the
order it accepted them, so a record anchored after the revocation was never accepted honestly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifier.checks.kernel import AnchorClaim, check_registry_event, decode_nodes, prefixed
from verifier.errors import VerificationFailure
from verifier.protocol.events import DEVICE_ENDED, DEVICE_REGISTERED

if TYPE_CHECKING:
    from verifier.formats.record import RegistryProofJson
    from verifier.protocol.typed_data import ActivityRecord


def _not_authorised(reason: str) -> VerificationFailure:
    return VerificationFailure("authorization", "TerminalNotAuthorised", reason)


def _check_event(proof: RegistryProofJson, index: int) -> AnchorClaim:
    """The event hashes to its leaf, the leaf sits under an anchored-looking root."""
    where = f"authorization[{index}]: "
    with prefixed(where, "authorization", "TerminalNotAuthorised"):
        nodes = decode_nodes(proof.proof, "proof")
    claim = AnchorClaim.of(proof.batch, proof.anchor)
    check_registry_event(proof, nodes, claim, lambda reason: _not_authorised(where + reason))
    return claim


def check_authorization(
    proofs: tuple[RegistryProofJson, ...], record: ActivityRecord, record_block: int
) -> tuple[str, list[AnchorClaim]]:
    """A detail line and the events' anchor claims (for the on-chain checks)."""
    claims = [_check_event(p, i) for i, p in enumerate(proofs)]
    events = [(p.event, c) for p, c in zip(proofs, claims, strict=True)]
    if any(e.get("subject") != record.device for e, _ in events):
        raise _not_authorised("an event in the bundle is about another terminal")
    binding = next(
        (
            c
            for e, c in events
            if e.get("type") == DEVICE_REGISTERED
            and e.get("enterprise") == record.enterprise
            and record.source in e.get("sources", ())
        ),
        None,
    )
    if binding is None:
        raise _not_authorised(
            f"no anchored registration binds {record.device} to {record.enterprise} / "
            f"{record.source}"
        )
    for event, claim in events:
        if event.get("type") in DEVICE_ENDED and record_block > claim.block_number:
            raise _not_authorised(
                f"the record was anchored in block {record_block}, after the terminal's "
                f"{event['type']} event was anchored in block {claim.block_number}"
            )
    ended = [e["type"] for e, _ in events if e.get("type") in DEVICE_ENDED]
    status = f", {ended[0]} later" if ended else ", never revoked"
    return f"registered for {record.source} in block {binding.block_number}{status}", claims
