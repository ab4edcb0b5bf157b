"""The two language catalogues: the same keys, and every key a template asks for present."""

from __future__ import annotations

import re
from pathlib import Path

from ledger_api.web.i18n import LANGUAGES, catalogue, china_time, number

TEMPLATES = Path(__file__).resolve().parents[2] / "ledger_api" / "web" / "templates"
_KEY = re.compile(r"""\bt\('([a-z_]+\.[a-z_0-9]+)'\)""")


def test_both_catalogues_hold_every_key_the_templates_use() -> None:
    used = {key for page in TEMPLATES.glob("*.html") for key in _KEY.findall(page.read_text())}
    assert len(used) > 60
    english, chinese = (set(catalogue(language)) for language in LANGUAGES[::-1])
    assert english == chinese
    assert used - english == set()


def test_figures_keep_every_digit_and_times_say_utc_plus_8() -> None:
    assert number("12345678.90123") == "12,345,678.90123"
    assert number("1e3") == "1E+3"  # never through float: what is stored is what is shown
    assert number(None) == "–"
    assert china_time(1_748_707_200) == "2025-06-01 00:00 UTC+8"
