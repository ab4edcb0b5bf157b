"""Sample one-month inventories, one per industry key (JSON)."""
