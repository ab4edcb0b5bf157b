"""Registry events on the wire: every change to who may report or sign what is a kind-3 leaf.

An event is a JSON object of this ``format`` and ``version``; the keccak256 of its RFC 8785
canonical JSON is the leaf digest. The ledger writes these events and the verifier reads them,
so both take the names below from here.
"""

from __future__ import annotations

EVENT_FORMAT = "carbon-ledger/registry-event"
EVENT_VERSION = 1

DEVICE_REGISTERED = "device.registered"
DEVICE_REVOKED = "device.revoked"
DEVICE_ROTATED = "device.rotated"
# A terminal's key stops being valid with either of these.
DEVICE_ENDED = (DEVICE_REVOKED, DEVICE_ROTATED)
SIGNER_SET = "enterprise.signer_set"
# The enterprise's registry chain (``verifier.protocol.registry_ops``): the registrar's
# enrolment, then operations the enterprise signs.
ENTERPRISE_REGISTERED = "enterprise.registered"
ENTERPRISE_UPDATED = "enterprise.updated"
SOURCE_REGISTERED = "source.registered"
REGISTRY_CHECKPOINT = "registry.checkpoint"
# The key that signs the issues of one carbon-asset programme (subject: the programme code).
ISSUER_SET = "program.issuer_set"
