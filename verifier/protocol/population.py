"""A population average's commitment to its members, shared by the ledger and the verifier.

An entry graded against its peers names them only by ``keccak`` of their anchored entry
digests, sorted and concatenated: a reader who is shown the members' entries (a regulator)
recomputes it; a reader who is not learns nothing from it, because an entry digest covers
signed record digests that no outsider knows.
"""

from __future__ import annotations

from collections.abc import Iterable

from verifier.protocol.keccak import keccak256

# A regulator's attestation that an enterprise's registration is real (a registry event whose
# subject is the enterprise): only attested enterprises count in a population average.
REGISTRATION_ATTESTED = "enterprise.registration_attested"


def members_digest(entry_digests: Iterable[bytes]) -> str:
    """``0x`` + keccak256 of the 32-byte entry digests, sorted ascending, concatenated."""
    digests = sorted(entry_digests)
    if any(len(d) != 32 for d in digests):
        raise ValueError("an entry digest is 32 bytes")
    return "0x" + keccak256(b"".join(digests)).hex()
