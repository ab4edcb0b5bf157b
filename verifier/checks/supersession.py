"""Check ``supersession``: is the entry still the current evaluation of its period?

A re-evaluation's entry names the entry it supersedes (``supersedes``: identifier, digest,
reason, note) and is anchored with it. A bundle may carry that successor (``supersededBy``:
its entry and the entry's inclusion proof); the check then proves the successor anchored, of
the same enterprise and period, naming this entry's digest, and reports "superseded by <id>
(reason)" as a warning: the figures still verify, but they are no longer the current ones.
Without it the check passes saying only that: no bundle can prove that nothing supersedes its
entry.
"""

from __future__ import annotations

import rfc8785

from verifier.checks.kernel import (
    AnchorClaim,
    CheckStatus,
    Progress,
    check_manifest_counts,
    check_merkle_path,
    decode_nodes,
    prefixed,
)
from verifier.errors import VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.formats.figure import FigureProofBundle, SupersessionEvidenceJson
from verifier.protocol.keccak import keccak256, parse_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import Domain

_ZERO = bytes(32)
NOT_SHOWN = "the bundle shows no later evaluation of this period"


def _not_superseded(entry: EvaluationEntry) -> str:
    """A pass says only what the bundle shows: no bundle proves that nothing supersedes it."""
    named = entry.supersedes
    if named is None:
        return NOT_SHOWN
    return f"supersedes {named.evaluation} ({named.reason}); {NOT_SHOWN}"


def _fail(code: str, reason: str) -> VerificationFailure:
    return VerificationFailure("supersession", code, reason)


def _successor(evidence: SupersessionEvidenceJson) -> EvaluationEntry:
    try:
        return EvaluationEntry.model_validate(evidence.entry)
    except ValueError as exc:
        raise _fail("SupersessionInvalid", f"supersededBy.entry: {exc}") from None


def _anchored(evidence: SupersessionEvidenceJson, successor: EvaluationEntry) -> AnchorClaim:
    """The successor entry is the stated kind-2 leaf, under its batch's anchored root."""
    try:
        digest = keccak256(rfc8785.dumps(evidence.entry))
    except rfc8785.CanonicalizationError as exc:
        raise _fail("SupersessionInvalid", f"supersededBy.entry: {exc}") from None
    hashed = leaf_hash(LeafKind.LEDGER_ENTRY, digest, _ZERO)
    stated = evidence.leaf
    for name, value in (
        ("kind", int(LeafKind.LEDGER_ENTRY)),
        ("digest", "0x" + digest.hex()),
        ("aux", "0x" + _ZERO.hex()),
        ("hash", "0x" + hashed.hex()),
    ):
        if getattr(stated, name) != value:
            raise _fail(
                "SupersessionLeafMismatch",
                f"supersededBy leaf {name} is {getattr(stated, name)}, not {value}",
            )
    try:
        nodes = decode_nodes(evidence.proof, "supersededBy.proof")
        claim = AnchorClaim.of(evidence.batch, evidence.anchor)
    except (VerificationFailure, ValueError) as exc:
        raise _fail("SupersessionInvalid", str(getattr(exc, "reason", exc))) from None
    with prefixed("supersededBy: ", "supersession", "SupersessionPathInvalid"):
        check_merkle_path(hashed, nodes, claim.root, evidence.batch.leaf_count)
    with prefixed("supersededBy batch: ", "supersession", "SupersessionManifestMismatch"):
        manifest = check_manifest_counts(evidence.batch, claim.manifest_hash)
    if (
        not manifest.covers(successor.enterprise)
        or manifest.kinds.get(str(int(LeafKind.LEDGER_ENTRY)), 0) < 1
    ):
        raise _fail(
            "SupersessionManifestMismatch",
            f"the successor's batch counts no ledger entry of {successor.enterprise}",
        )
    return claim


def check_supersession(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain
) -> tuple[str, CheckStatus, list[AnchorClaim]]:
    """Check ``supersession``; returns its detail, its status and the anchor to check."""
    evidence = bundle.superseded_by
    if evidence is None:
        return _not_superseded(entry), CheckStatus.PASSED, []
    successor = _successor(evidence)
    claim = _anchored(evidence, successor)
    if evidence.anchor.chain_id != domain.chain_id or claim.contract != parse_address(
        domain.verifying_contract
    ):
        raise _fail("SupersessionInvalid", "supersededBy is anchored on another chain or contract")
    named = successor.supersedes
    own = bundle.entry_proof.leaf.digest
    if named is None or named.digest != own or named.evaluation != entry.identifier:
        raise _fail(
            "SupersessionMismatch",
            f"{successor.identifier} does not name this entry ({entry.identifier}, {own}) as "
            "the one it supersedes",
        )
    if successor.enterprise != entry.enterprise or (
        successor.period.start,
        successor.period.end,
    ) != (entry.period.start, entry.period.end):
        raise _fail(
            "SupersessionMismatch",
            f"{successor.identifier} is of {successor.enterprise} {successor.period.start}.."
            f"{successor.period.end}, not of this entry's enterprise and period",
        )
    detail = f"superseded by {successor.identifier} ({named.reason}): {named.note}"
    return detail, CheckStatus.WARNING, [claim]


def run_supersession_check(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain, p: Progress
) -> list[AnchorClaim]:
    detail, status, claims = check_supersession(bundle, entry, domain)
    p.add("supersession", detail, status)
    return claims
