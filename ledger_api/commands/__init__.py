"""Sub-commands of the ``carbon-ledger`` CLI, one module per command group."""
