"""Publishing an evaluation as an enterprise does it: fetch the evaluation's publication head,
sign the next ``EvaluationPublication`` statement with the enterprise's registry key, post it
with the enterprise's API key. Used by the demo and the tests (dev keys only)."""

from __future__ import annotations

import time

import httpx

from verifier.protocol.publication import Publication, sign_publication
from verifier.protocol.typed_data import Domain


def next_statement(
    http: httpx.Client, token: str, identifier: str, action: str, at: int | None = None
) -> Publication:
    """The statement that follows the evaluation's head, unsigned."""
    head = http.get(
        f"/v1/evaluations/{identifier}/publication", headers={"Authorization": f"Bearer {token}"}
    )
    head.raise_for_status()
    state = head.json()
    return Publication(
        action=action,
        enterprise=state["enterprise"],
        evaluation=identifier,
        entry=state["entry"],
        index=state["index"] + 1,
        prev=state["head"],
        at=int(time.time()) if at is None else at,
    )


def post_statement(
    http: httpx.Client, token: str, domain: Domain, key: bytes, statement: Publication
) -> httpx.Response:
    """Sign ``statement`` with the private ``key`` and post it to its action's route."""
    signature = sign_publication(key, domain, statement)
    return http.post(
        f"/v1/evaluations/{statement.evaluation}/{statement.action}",
        headers={"Authorization": f"Bearer {token}"},
        json={"publication": statement.to_message(), "signature": "0x" + signature.hex()},
    )


def sign_and_post(
    http: httpx.Client, token: str, domain: Domain, key: bytes, identifier: str, action: str
) -> httpx.Response:
    """Publish or withdraw ``identifier`` with a statement ``key`` signs."""
    return post_statement(http, token, domain, key, next_statement(http, token, identifier, action))
