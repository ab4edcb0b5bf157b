"""What a v3 figure proof shows about the enterprise's registry (``docs/figure-proof-format.md``
section 6): three checks between ``authorization`` and ``completeness``.

* ``registry-signatures``: the bundle carries the enterprise's registry chain; its first event
  is the registrar's enrolment naming the enterprise's signer key, every later one is an
  operation signed by the key in force, and every registry event of a counted terminal is one
  of them. The operator holds no enterprise key, so it cannot add a terminal, bind one to a
  source of its own, or change the industry in the enterprise's name.
* ``registry-chain``: each event is an anchored kind-3 leaf, at its index, naming the digest of
  the one before, with ``effective`` times that never decrease; an event left out breaks the
  links. The chain is shown up to an event effective at or after the period's end when one
  exists, which proves that no change in force for the period is missing.
* ``boundary``: the registry as of the period's end (every event effective before it) gives
  the industry, the region and the sources; the entry must state exactly these, and must
  count every terminal bound to them that was in force during the period.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from verifier.checks.kernel import AnchorClaim, check_registry_event, decode_nodes
from verifier.errors import SignatureError, VerificationFailure
from verifier.protocol.events import (
    DEVICE_ENDED,
    DEVICE_REGISTERED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    SIGNER_SET,
    SOURCE_REGISTERED,
)
from verifier.protocol.keccak import parse_address
from verifier.protocol.registry_ops import (
    CHAIN_TYPES,
    InvalidRegistryOperation,
    event_digest,
    operation_of_event,
    registry_operation_digest,
)
from verifier.protocol.typed_data import Domain, recover_signer

if TYPE_CHECKING:
    from verifier.checks.kernel import Progress
    from verifier.formats.entry import EvaluationEntry
    from verifier.formats.figure import FigureProofBundle
    from verifier.formats.record import RegistryProofJson

__all__ = ["REGISTRY_CHECKS", "check_chain_links", "check_signed_chain", "run_registry_checks"]

REGISTRY_CHECKS = ("registry-signatures", "registry-chain", "boundary")


def _fail(check: str, code: str, reason: str) -> VerificationFailure:
    return VerificationFailure(check, code, reason)


# --- registry-signatures --------------------------------------------------------------------


def _check_enrolment(event: dict[str, Any], enterprise: str) -> str:
    if event.get("type") != ENTERPRISE_REGISTERED or event.get("subject") != enterprise:
        raise _fail(
            "registry-signatures",
            "RegistryUnsigned",
            f"registry[0] is not the enrolment of {enterprise}",
        )
    signer = event.get("signer")
    if not isinstance(signer, str):
        raise _fail(
            "registry-signatures",
            "RegistryUnsigned",
            f"{enterprise} was enrolled without a signer key: its registry changes are not "
            "signed by the enterprise, so the ledger's operator could have made them",
        )
    return signer


def _check_signed(k: int, event: dict[str, Any], domain: Domain, signer: str) -> None:
    try:
        op, signature = operation_of_event(event)
    except InvalidRegistryOperation as exc:
        raise _fail(
            "registry-signatures",
            "RegistryUnsigned",
            f"registry[{k}] ({event.get('type')} of {event.get('subject')}) is not an operation "
            f"the enterprise signed: {exc}",
        ) from None
    try:
        recovered = recover_signer(registry_operation_digest(domain, op), signature)
    except SignatureError as exc:
        recovered = f"no key ({exc})"
    if recovered != signer:
        raise _fail(
            "registry-signatures",
            "RegistrySignatureInvalid",
            f"registry[{k}] ({op.action} of {op.subject}) is signed by {recovered}, not by the "
            f"enterprise's key {signer}",
        )


def _check_device_events(bundle: FigureProofBundle, digests: set[str]) -> None:
    """A counted terminal's registration, rotation or revocation outside the signed chain is
    the operator's word, not the enterprise's."""
    for d, evidence in enumerate(bundle.devices):
        for i, proof in enumerate(evidence.registry):
            event = proof.event
            if event.get("type") in CHAIN_TYPES and proof.leaf.digest not in digests:
                raise _fail(
                    "registry-signatures",
                    "RegistryUnsigned",
                    f"devices[{d}].registry[{i}] ({event.get('type')} of {evidence.device}) is "
                    "not an operation the enterprise signed",
                )


def _check_signatures(bundle: FigureProofBundle, enterprise: str, domain: Domain) -> str:
    if bundle.version < 3 or not bundle.registry:
        raise _fail(
            "registry-signatures",
            "RegistryUnsigned",
            f"the bundle (v{bundle.version}) carries no registry history of {enterprise}: "
            "nothing shows its sources and terminals were registered by the enterprise itself",
        )
    detail = check_signed_chain(bundle.registry, enterprise, domain)
    _check_device_events(bundle, {p.leaf.digest for p in bundle.registry})
    return detail


def check_signed_chain(
    registry: Sequence[RegistryProofJson], enterprise: str, domain: Domain
) -> str:
    """``registry-signatures`` over a non-empty chain (figure and record bundles): the
    registrar's enrolment naming a signer key, then operations each signed by the key in
    force. Returns the detail line."""
    events = [p.event for p in registry]
    signer = _check_enrolment(events[0], enterprise)
    keys = {signer}
    for k, event in enumerate(events[1:], start=1):
        _check_signed(k, event, domain, signer)
        if event.get("type") == SIGNER_SET:
            signer = str(event.get("signer"))
            keys.add(signer)
    return (
        f"{len(events) - 1} registry changes signed by the enterprise's key "
        f"({len(keys)} key{'s' if len(keys) > 1 else ''}) after the registrar's enrolment"
    )


# --- registry-chain -------------------------------------------------------------------------


def _broken(reason: str) -> VerificationFailure:
    return _fail("registry-chain", "RegistryChainBroken", reason)


def _event_claim(k: int, proof: RegistryProofJson, domain: Domain) -> AnchorClaim:
    def invalid(reason: str) -> VerificationFailure:
        return _fail("registry-chain", "RegistryEventInvalid", f"registry[{k}]: {reason}")

    try:
        nodes = decode_nodes(proof.proof, "proof")
        claim = AnchorClaim.of(proof.batch, proof.anchor)
    except (VerificationFailure, ValueError) as exc:
        raise invalid(str(getattr(exc, "reason", exc))) from None
    check_registry_event(proof, nodes, claim, invalid)
    contract = parse_address(domain.verifying_contract)
    if proof.anchor.chain_id != domain.chain_id or claim.contract != contract:
        raise invalid("anchored on another chain or contract")
    return claim


def _check_link(
    k: int, event: dict[str, Any], prev: dict[str, Any] | None, enterprise: str
) -> None:
    if event.get("index") != k or event.get("enterprise") != enterprise:
        raise _broken(
            f"registry[{k}] is index {event.get('index')!r} of {event.get('enterprise')!r}, not "
            f"index {k} of {enterprise}: an event of the chain is missing or out of place"
        )
    expected = "0x" + event_digest(prev).hex() if prev is not None else "0x" + "00" * 32
    if event.get("prev") != expected:
        raise _broken(
            f"registry[{k}] names {event.get('prev')} as the event before it, but the bundle "
            f"shows {expected}: an event of the chain is missing"
        )
    if prev is not None and _effective(event) < _effective(prev):
        raise _broken(f"registry[{k}] is effective before the event it follows")


def _effective(event: dict[str, Any]) -> int:
    value = event.get("effective", 0)
    return value if type(value) is int else 0


def check_chain_links(
    registry: Sequence[RegistryProofJson], enterprise: str, domain: Domain
) -> list[AnchorClaim]:
    """``registry-chain`` over a chain (figure and record bundles): every event an anchored
    kind-3 leaf of this chain and contract, at its index, naming the digest of the one before.
    Returns the events' anchors for the on-chain checks."""
    claims = [_event_claim(k, p, domain) for k, p in enumerate(registry)]
    events = [p.event for p in registry]
    for k, event in enumerate(events):
        _check_link(k, event, events[k - 1] if k else None, enterprise)
    return claims


def _check_withheld(bundle: FigureProofBundle) -> None:
    """Each counted terminal's evidence shows every chain event about it: a revocation or
    rotation left out there would let records signed after it count."""
    for d, evidence in enumerate(bundle.devices):
        shown = {p.leaf.digest for p in evidence.registry}
        for k, proof in enumerate(bundle.registry):
            if proof.event.get("subject") == evidence.device and proof.leaf.digest not in shown:
                raise _fail(
                    "registry-chain",
                    "DeviceEventWithheld",
                    f"registry[{k}] ({proof.event.get('type')}) is about terminal "
                    f"{evidence.device}, but devices[{d}].registry leaves it out",
                )


def _check_chain(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain
) -> tuple[str, list[AnchorClaim]]:
    claims = check_chain_links(bundle.registry, entry.enterprise, domain)
    events = [p.event for p in bundle.registry]
    _check_withheld(bundle)
    end = entry.period.end_ts
    closing = next((k for k, e in enumerate(events) if k and _effective(e) >= end), None)
    if closing is not None:
        detail = (
            f"{len(events)} events linked; registry[{closing}] is effective at or after the "
            "period's end, so every change in force for the period is shown"
        )
    else:
        detail = (
            f"{len(events)} events linked up to the ledger's head; no signed event effective "
            "after the period's end is shown, so that no later change in force for the period "
            "was withheld rests on the ledger"
        )
    return detail, claims


# --- boundary -------------------------------------------------------------------------------


@dataclass
class _State:
    """The registry as of the period's end."""

    industry: Any = None
    region: Any = None
    sources: set[str] = field(default_factory=set)
    bindings: dict[str, set[str]] = field(default_factory=dict)  # device -> sources
    ended: dict[str, int] = field(default_factory=dict)  # device -> effective time it ended


def _in_force(events: Sequence[dict[str, Any]], end: int) -> Iterator[dict[str, Any]]:
    yield events[0]
    for event in events[1:]:
        if _effective(event) >= end:
            return
        yield event


def _state(events: Sequence[dict[str, Any]], end: int) -> _State:
    state = _State()
    for event in _in_force(events, end):
        kind, subject = event.get("type"), str(event.get("subject"))
        if kind in (ENTERPRISE_REGISTERED, ENTERPRISE_UPDATED):
            state.industry, state.region = event.get("industry"), event.get("region")
        elif kind == SOURCE_REGISTERED:
            state.sources.add(subject)
        elif kind == DEVICE_REGISTERED:
            sources = event.get("sources")
            listed = sources if isinstance(sources, list) else []
            state.bindings[subject] = {s for s in listed if isinstance(s, str)}
        elif kind in DEVICE_ENDED:
            state.ended.setdefault(subject, _effective(event))
    return state


def _check_boundary(entry: EvaluationEntry, events: Sequence[dict[str, Any]]) -> str:
    period = entry.period
    state = _state(events, period.end_ts)
    for name, registered, stated in (
        ("industry", state.industry, entry.industry),
        ("region", state.region, entry.region),
    ):
        if registered != stated:
            raise _fail(
                "boundary",
                f"{name.capitalize()}Mismatch",
                f"the entry states {name} {stated!r}, the enterprise's signed registry says "
                f"{registered!r} as of the period's end",
            )
    stated_sources = set(entry.boundary.sources)
    if stated_sources != state.sources:
        missing, extra = (
            sorted(state.sources - stated_sources),
            sorted(stated_sources - state.sources),
        )
        which = (
            f"registered source {missing[0]} is left out"
            if missing
            else (f"source {extra[0]} is not registered to the enterprise for the period")
        )
        raise _fail("boundary", "BoundaryMismatch", f"the entry's boundary differs: {which}")
    counted = {d.device for d in entry.records.devices}
    for device, bound in sorted(state.bindings.items()):
        ended = state.ended.get(device)
        in_force = bound & state.sources and (ended is None or ended > period.start_ts)
        if in_force and device not in counted:
            raise _fail(
                "boundary",
                "TerminalNotShown",
                f"terminal {device}, bound to {sorted(bound)[0]}, was in force during the "
                "period but the entry counts none of its readings",
            )
    return (
        f"industry {state.industry}, region {state.region}, {len(state.sources)} sources and "
        f"{len(counted)} terminals as the signed registry has them for the period"
    )


def run_registry_checks(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain, p: Progress
) -> list[AnchorClaim]:
    """The three checks, in order; returns the registry events' anchors for the on-chain
    checks."""
    p.add("registry-signatures", _check_signatures(bundle, entry.enterprise, domain))
    detail, claims = _check_chain(bundle, entry, domain)
    p.add("registry-chain", detail)
    p.add("boundary", _check_boundary(entry, [proof.event for proof in bundle.registry]))
    return claims
