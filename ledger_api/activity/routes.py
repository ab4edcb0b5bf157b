"""Signed activity data: the typed-data definition, batch ingestion, records and their proofs."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from ledger_api.access.deps import CallerDep, Reader, Submitter, check_submitter
from ledger_api.activity.records import visible_record, visible_record_proof
from ledger_api.activity.schemas import (
    ActivityBatchIn,
    ActivityBatchOut,
    RecordOut,
    TypedDataOut,
    UnitsOut,
)
from ledger_api.activity.service import ingest
from ledger_api.activity.units import activity_units
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError
from verifier.formats.record import RecordProofBundle
from verifier.protocol.typed_data import ACTIVITY_RECORD_FIELDS, ACTIVITY_RECORD_TYPE, DOMAIN_FIELDS

router = APIRouter(prefix="/v1", tags=["activity"])


@router.get("/typed-data", response_model=TypedDataOut)
def get_typed_data(context: Context) -> TypedDataOut:
    """The EIP-712 domain and types; any EIP-712 signer can sign records we accept with them."""
    return TypedDataOut(
        domain=context.domain.as_dict(),
        types={"EIP712Domain": DOMAIN_FIELDS, ACTIVITY_RECORD_TYPE: ACTIVITY_RECORD_FIELDS},
        primaryType=ACTIVITY_RECORD_TYPE,
    )


@router.get("/units", response_model=UnitsOut)
def get_units(_: CallerDep) -> UnitsOut:
    """Each activity code's canonical units and every unit spelling a record of it may carry;
    a record with any other unit is refused (``unknown_unit`` or ``unit_mismatch``)."""
    return activity_units()


@router.post(
    "/activity-batches",
    status_code=status.HTTP_201_CREATED,
    response_model=ActivityBatchOut,
    responses={
        200: {"description": "Every record was already stored"},
        422: {"description": "Nothing stored; one problem per offending record"},
    },
)
def submit_batch(
    body: ActivityBatchIn,
    session: SessionDep,
    context: Context,
    caller: Submitter,
) -> JSONResponse:
    """Store a batch of signed records, all or nothing. A 2xx means durably stored; re-sending
    stored records is a no-op. Terminal and enterprise keys submit their own enterprise's
    records only (403 otherwise); each principal has an allowance of records (429 beyond)."""
    limit = context.settings.max_batch_records
    if len(body.records) > limit:
        raise ApiError(413, "batch_too_large", f"at most {limit} records per batch", "records")
    check_submitter(caller, [item.record for item in body.records])
    limiter, count = context.limiter, len(body.records)
    limiter.check(context.engine, caller.principal_id, caller.name, count)
    outcome = ingest(
        session,
        body.records,
        context.domain,
        lambda locked: limiter.spend(locked, caller.principal_id, caller.name, count),
    )
    return _batch_answer(outcome.stored, outcome.duplicates)


def _batch_answer(stored: list[str], duplicates: list[str]) -> JSONResponse:
    """``ActivityBatchOut``'s JSON, built as plain data: the response model would validate a
    thousand ``StoredRecord``s a batch again (≈ 4 µs a record) that are correct by making."""
    records = [{"digest": d, "status": "stored"} for d in stored]
    records += [{"digest": d, "status": "duplicate"} for d in duplicates]
    return JSONResponse(
        {"accepted": len(stored), "duplicates": len(duplicates), "records": records},
        status_code=status.HTTP_201_CREATED if stored else status.HTTP_200_OK,
    )


@router.get("/records/{digest}", response_model=RecordOut)
def get_record(digest: str, session: SessionDep, context: Context, caller: Reader) -> RecordOut:
    """A stored record as signed, with its signature and anchoring status."""
    return visible_record(session, caller, digest, context.domain)


@router.get("/records/{digest}/proof", response_model=RecordProofBundle)
def get_record_proof(
    digest: str, session: SessionDep, context: Context, caller: Reader
) -> JSONResponse:
    """The record's proof bundle (docs/proof-format.md); 409 until its batch is anchored."""
    bundle = visible_record_proof(session, context.engine, context.domain, caller, digest)
    # The bundle was checked against its format when built: answered as built.
    return JSONResponse(bundle.to_json())
