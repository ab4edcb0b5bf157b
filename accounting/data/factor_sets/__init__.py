"""Versioned factor-set documents (JSON)."""
