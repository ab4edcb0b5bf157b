"""Versioned carbon-efficiency grading rulesets (JSON), one per region and validity period."""
