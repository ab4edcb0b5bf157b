"""carbon-verify: the protocol's reference reader.

Imports nothing from ``ledger_api`` or ``anchoring``; they may import it.
"""
