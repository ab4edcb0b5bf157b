"""The asset tests' shared fixture: ``book``, a ledger with two enterprises and a programme
issuer, each with a registered key (``test_assets_api``)."""

from tests.ledger_api.assets.test_assets_api import book

__all__ = ["book"]
