"""Tree building, batching, the anchor transaction and reconciliation with the chain."""
