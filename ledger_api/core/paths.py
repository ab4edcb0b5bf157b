"""Path parameters shared by the routers: one identifier convertor, so that no route's
identifier swallows another route's sub-resource and the order routers are mounted in never
decides which route answers."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

#: Last path segments that name a sub-resource of an identified object (an enterprise, an
#: evaluation, a lot); an identifier never has one of them as a segment after its first.
SUB_RESOURCES = (
    "sources",
    "grants",
    "signer",
    "assets",
    "profile",
    "ratings",
    "figures",
    "proof",
    "report",
    "registry-head",
    "population-proof",
    "registration-attestation",
    "publication",
)


class IdentifierConvertor(Convertor[str]):
    """A Handle, OID or Ecode identifier: slashes allowed, sub-resource names not."""

    regex = r"[^/]*(?:/(?!(?:{words})(?:/|$))[^/]*)*".format(words="|".join(SUB_RESOURCES))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("identifier", IdentifierConvertor())

#: The identifier path parameter, for route paths: f"/enterprises/{IDENTIFIER}/sources".
IDENTIFIER = "{identifier:identifier}"
