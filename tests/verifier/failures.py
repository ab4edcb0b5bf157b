"""Which check each failure code belongs to, as the verifier's failure classes used to state it;
the tests assert a failure's code and its check together, so a failure that moves to another
check is caught."""

from __future__ import annotations

from verifier.checks.kernel import VerificationResult
from verifier.errors import VerificationFailure

CHECK_OF: dict[str, str] = {
    # shared by every bundle kind
    "BundleInvalid": "bundle",
    "TypedDataInvalid": "typed-data",
    "DomainMismatch": "typed-data",
    "SignatureMalformed": "signature",
    "SignatureMalleable": "signature",
    "SignatureMismatch": "signature",
    "AttributesMismatch": "attributes",
    "LeafMismatch": "leaf",
    "MerklePathInvalid": "merkle-path",
    "ManifestMismatch": "manifest",
    "TerminalNotAuthorised": "authorization",
    "ChainIdMismatch": "chain-id",
    "ContractCodeMismatch": "contract-code",
    "RootNotAnchored": "anchored",
    "AnchorMismatch": "anchored",
    "AnchorLocationMismatch": "anchor-location",
    # figure proofs
    "EntryLeafMismatch": "entry-leaf",
    "EntryPathInvalid": "entry-leaf",
    "EntryManifestMismatch": "entry-leaf",
    "RecordDomainMismatch": "records",
    "RecordInvalid": "records",
    "RecordSignatureMalformed": "records",
    "RecordSignatureMalleable": "records",
    "RecordSignatureMismatch": "records",
    "RecordAttributesMismatch": "records",
    "RecordOutsideEntry": "records",
    "RecordNotIncluded": "record-inclusion",
    "RecordLeafMismatch": "record-inclusion",
    "MultiproofInvalid": "record-inclusion",
    "BatchManifestMismatch": "record-inclusion",
    "IncompleteRecords": "completeness",
    "SourceNotCovered": "completeness",
    "SourceOutsideBoundary": "completeness",
    "BatchIncomplete": "completeness",
    "FactorSetMismatch": "factor-set",
    "FigureMismatch": "figures",
    "RulesetMismatch": "rating",
    "GradeMismatch": "rating",
    # asset proofs
    "ForeignOperation": "typed-data",
    "SignerEventInvalid": "signers",
    "SignerNotAuthorised": "signers",
    "IssuerNotAuthorised": "signers",
    "SignerRotatedAway": "signers",
    "HistoryBroken": "history",
    "ReplayRejected": "replay",
    "ClaimInvalid": "claim",
    "ClaimNotHeld": "claim",
    "ClaimNotRetired": "claim",
}


def is_failure(failure: BaseException | None, *codes: str) -> bool:
    """``failure`` is a verification failure with one of ``codes``, at that code's check."""
    return (
        isinstance(failure, VerificationFailure)
        and failure.code in codes
        and failure.check == CHECK_OF[failure.code]
    )


def failure_of(result: VerificationResult, code: str) -> VerificationFailure:
    """The result's failure, asserted to be ``code`` at its check."""
    failure = result.failure
    assert is_failure(failure, code), failure
    assert failure is not None
    return failure


def failed(result: VerificationResult) -> tuple[str | None, str | None]:
    """The failed check and the failure's name (both None for a valid result)."""
    return result.failed_check, None if result.failure is None else result.failure.code
