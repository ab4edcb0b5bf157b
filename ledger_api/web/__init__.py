"""The web face of the ledger: a landing page, the self-hosted API reference and the portal."""
