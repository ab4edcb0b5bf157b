"""Recomputing a ``peers-weighted/v2`` population average from its members
(``docs/figure-proof-format.md`` section 9), for a principal allowed to see them all.

Checks, in order: ``bundle``; ``entries`` (the graded entry and every member entry hash to
their anchored kind-2 leaves under their roots); ``attestations`` (each member's enterprise
has a regulator's anchored ``enterprise.registration_attested`` event); ``average`` (the
members are rated peers of the graded firm — same industry and period, another enterprise,
each once — there are at least ``min_members`` of them, their entry digests hash to the
entry's ``members_digest``, and their weighted average, rounded as published, is the entry's
average); then the on-chain checks of every root.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import rfc8785

from accounting.errors import AccountingError
from accounting.grading import PEERS_DEFINITION, PublishedPopulation, published_peer_average
from verifier.checks.kernel import (
    ONCHAIN_CHECKS,
    ZERO,
    AnchorClaim,
    Progress,
    VerificationResult,
    check_manifest_counts,
    check_merkle_path,
    check_registry_event,
    decode_nodes,
    read_bundle,
    run_checks,
    run_onchain,
    skip_onchain,
)
from verifier.errors import VerificationFailure
from verifier.formats.figure import EntryProofJson
from verifier.formats.population import (
    POPULATION_PROOF_FORMAT,
    POPULATION_PROOF_VERSION,
    PopulationProofBundle,
)
from verifier.protocol.keccak import keccak256, parse_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.population import REGISTRATION_ATTESTED, members_digest

if TYPE_CHECKING:
    from verifier.rpc import ChainReader
    from verifier.trust import TrustRoot

POPULATION_CHECKS: tuple[str, ...] = (
    "bundle",
    "entries",
    "attestations",
    "average",
    *ONCHAIN_CHECKS,
)


def parse_population_bundle(data: Any) -> PopulationProofBundle:
    return read_bundle(
        data, POPULATION_PROOF_FORMAT, PopulationProofBundle, (POPULATION_PROOF_VERSION,)
    )


def _entry_leaf(entry: dict[str, Any], proof: EntryProofJson, where: str) -> AnchorClaim:
    """The entry hashes to its kind-2 leaf, whose path folds to its anchored root."""

    def fail(reason: str) -> VerificationFailure:
        return VerificationFailure("entries", "EntryLeafMismatch", f"{where}: {reason}")

    try:
        digest = keccak256(rfc8785.dumps(entry))
        claim = AnchorClaim.of(proof.batch, proof.anchor)
        nodes = decode_nodes(proof.proof, f"{where}.entryProof.proof")
    except (rfc8785.CanonicalizationError, ValueError) as exc:
        raise fail(str(exc)) from None
    hashed = leaf_hash(LeafKind.LEDGER_ENTRY, digest, ZERO)
    if (proof.leaf.kind, proof.leaf.digest, proof.leaf.hash) != (
        int(LeafKind.LEDGER_ENTRY),
        "0x" + digest.hex(),
        "0x" + hashed.hex(),
    ):
        raise fail("the entry does not hash to its kind-2 leaf")
    try:
        check_merkle_path(hashed, nodes, claim.root, proof.batch.leaf_count)
        check_manifest_counts(proof.batch, claim.manifest_hash)
    except VerificationFailure as exc:
        raise fail(exc.reason) from None
    return claim


def _published(entry: dict[str, Any]) -> tuple[PublishedPopulation, Decimal]:
    average = ((entry.get("rating") or {}).get("industry_average")) or {}
    basis = average.get("population") or {}
    if basis.get("definition") != PEERS_DEFINITION:
        raise VerificationFailure(
            "average",
            "AverageMismatch",
            "the entry is not graded against a peers-weighted/v2 average",
        )
    try:
        fields = (basis["places"], basis["min_members"], basis["members_digest"])
        return PublishedPopulation(PEERS_DEFINITION, *fields), Decimal(average["value"])
    except (KeyError, ArithmeticError) as exc:
        raise VerificationFailure("average", "AverageMismatch", f"the average: {exc}") from None


def _member_pair(graded: dict[str, Any], member: dict[str, Any], i: int) -> tuple[Decimal, Decimal]:
    same = (member.get("industry"), member.get("period", {}).get("start"), member["period"]["end"])
    if member.get("enterprise") == graded["enterprise"] or same != (
        graded["industry"],
        graded["period"]["start"],
        graded["period"]["end"],
    ):
        raise VerificationFailure(
            "average", "MemberNotPeer", f"members[{i}] is not a peer of the graded enterprise"
        )
    rating = member.get("rating") or {}
    return Decimal(rating["emissions_t"]), Decimal(rating["added_value_wan_yuan"])


def _check_average(bundle: PopulationProofBundle) -> str:
    graded = bundle.entry
    published, stated = _published(graded)
    enterprises = [m.entry.get("enterprise") for m in bundle.members]
    if len(set(enterprises)) != len(enterprises):
        raise VerificationFailure("average", "MemberNotPeer", "an enterprise counts twice")
    digests = [bytes.fromhex(m.entry_proof.leaf.digest[2:]) for m in bundle.members]
    if members_digest(digests) != published.members_digest:
        raise VerificationFailure(
            "average", "MembersDigestMismatch", "the members are not the ones the entry names"
        )
    try:
        pairs = [_member_pair(graded, m.entry, i) for i, m in enumerate(bundle.members)]
        year = int(graded["period"]["start"][:4])
        average = published_peer_average(graded["industry"], year, pairs, published)
    except (AccountingError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise VerificationFailure(
            "average", "AverageMismatch", f"cannot recompute: {exc}"
        ) from None
    if average.value != stated:
        raise VerificationFailure(
            "average", "AverageMismatch", f"the members average {average.value}, not {stated}"
        )
    return f"{stated} recomputed from {len(pairs)} attested peers (minimum {published.min_members})"


def _check_attestations(bundle: PopulationProofBundle) -> list[AnchorClaim]:
    claims = []
    for i, member in enumerate(bundle.members):
        proof, where = member.attestation, f"members[{i}].attestation: "

        def fail(reason: str, where: str = where) -> VerificationFailure:
            return VerificationFailure("attestations", "AttestationMissing", where + reason)

        event = proof.event
        if event.get("type") != REGISTRATION_ATTESTED or event.get("subject") != member.entry.get(
            "enterprise"
        ):
            raise fail("not a regulator's attestation of this member's enterprise")
        try:
            claim = AnchorClaim.of(proof.batch, proof.anchor)
            nodes = decode_nodes(proof.proof, "proof")
        except (VerificationFailure, ValueError) as exc:
            raise fail(str(getattr(exc, "reason", exc))) from None
        check_registry_event(proof, nodes, claim, fail)
        claims.append(claim)
    return claims


def _run(
    bundle: PopulationProofBundle, rpc: ChainReader | None, trust: TrustRoot | None, p: Progress
) -> None:
    p.add("bundle", f"{bundle.format} v{bundle.version}, {len(bundle.members)} members")
    claims = [_entry_leaf(bundle.entry, bundle.entry_proof, "entry")]
    claims += [
        _entry_leaf(m.entry, m.entry_proof, f"members[{i}]") for i, m in enumerate(bundle.members)
    ]
    p.add("entries", f"{len(claims)} entries anchored as kind-2 leaves")
    attestations = _check_attestations(bundle)
    p.add("attestations", f"{len(attestations)} regulator attestations, anchored")
    p.add("average", _check_average(bundle))
    if rpc is None:
        skip_onchain(p)
        return
    contract = parse_address(bundle.domain.verifying_contract)
    run_onchain(rpc, trust, bundle.domain.chain_id, contract, claims + attestations, p)


def verify_population(
    bundle: PopulationProofBundle, rpc: ChainReader | None, *, trust: TrustRoot | None = None
) -> VerificationResult:
    """Run :data:`POPULATION_CHECKS`; the on-chain ones are skipped when ``rpc`` is None."""
    return run_checks(POPULATION_CHECKS, lambda progress: _run(bundle, rpc, trust, progress))
