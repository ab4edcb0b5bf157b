"""Chinese and English: one JSON catalogue per language, the language a request asks for, and
how figures and times are written (thousands separators; times in UTC+8, said so)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
#: China Standard Time: the enterprises report in it, so the portal shows it, and names it.
CHINA_TIME = timezone(timedelta(hours=8))


@cache
def catalogue(language: str) -> dict[str, str]:
    text = files("ledger_api.web").joinpath("catalogues", f"{language}.json").read_text("utf-8")
    return json.loads(text)


class Translator:
    """``t("key")`` in a template: the string of the request's language; a missing key shows
    as itself, so a forgotten string is visible rather than blank."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._strings = catalogue(language)

    def __call__(self, key: str) -> str:
        return self._strings.get(key, key)


def choose_language(asked: str | None, cookie: str | None, accept: str | None) -> str:
    """The ``?lang=`` asked for, else the remembered choice, else the browser's preference."""
    for candidate in (asked, cookie):
        if candidate in LANGUAGES:
            return candidate
    if accept and accept.lower().lstrip().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def number(value: Decimal | int | str | None) -> str:
    """A figure with thousands separators, digit for digit as stored (never through float)."""
    if value is None or value == "":
        return "–"
    try:
        return f"{Decimal(value):,}"
    except InvalidOperation:
        return str(value)


def china_time(value: datetime | int | None) -> str:
    """A moment in UTC+8, labelled; a unix timestamp or a (naive = UTC) datetime."""
    if value is None:
        return "–"
    if isinstance(value, int):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") + " UTC+8"
