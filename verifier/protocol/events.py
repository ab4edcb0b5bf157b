"""Registry events on the wire: every change to who may report or sign what is a kind-3 leaf.

An event is a JSON object of this ``format`` and ``version``; the keccak256 of its RFC 8785
canonical JSON is the leaf digest. The ledger writes these events and the verifier reads them,
so both take the names below from here.
"""

from __future__ import annotations

EVENT_FORMAT = "carbon-ledger/registry-event"
EVENT_VERSION = 1

DEVICE_REGISTERED = "device.registered"
# A terminal's key stops being valid with either of these.
DEVICE_ENDED = ("device.revoked", "device.rotated")
SIGNER_SET = "enterprise.signer_set"
