"""Sample one-month inventories, one per industry key, for demos and tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from accounting.errors import UnknownIndustryError
from accounting.industries import INDUSTRIES
from accounting.inventory import Inventory
from accounting.readers import inventory_from_json


def sample_path(industry: str) -> Path:
    if industry not in INDUSTRIES:
        raise UnknownIndustryError(f"no sample for industry {industry!r}", field="industry")
    return Path(str(resources.files("accounting.data.samples").joinpath(f"{industry}.json")))


def load_sample(industry: str) -> Inventory:
    return inventory_from_json(sample_path(industry).read_text(encoding="utf-8"))
