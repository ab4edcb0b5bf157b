"""Where an enterprise is: its registered region text read as a GB/T 2260 division code.

The ledger stores an enterprise's region as free text. Selection rules (the grid factor, the
grading ruleset) need a province and, for a city's ruleset, the code's prefix, so this module
reads the forms the ledger has seen: a six-digit administrative division code (``530000``,
``330502``), a province's name (``云南``, ``云南省``, ``Yunnan``, ``yunnan``) and the region keys
of shipped rulesets (``cn-zj-huzhou``). Anything else names no province; the rules say what
they do then, rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GB/T 2260 province-level codes (first two digits of a division code): key, Chinese name,
# English name. The key is the one the factor sets use in ``grid.mee.province.<key>.<year>``.
PROVINCES: dict[str, tuple[str, str, str]] = {
    "11": ("beijing", "北京", "Beijing"),
    "12": ("tianjin", "天津", "Tianjin"),
    "13": ("hebei", "河北", "Hebei"),
    "14": ("shanxi", "山西", "Shanxi"),
    "15": ("inner_mongolia", "内蒙古", "Inner Mongolia"),
    "21": ("liaoning", "辽宁", "Liaoning"),
    "22": ("jilin", "吉林", "Jilin"),
    "23": ("heilongjiang", "黑龙江", "Heilongjiang"),
    "31": ("shanghai", "上海", "Shanghai"),
    "32": ("jiangsu", "江苏", "Jiangsu"),
    "33": ("zhejiang", "浙江", "Zhejiang"),
    "34": ("anhui", "安徽", "Anhui"),
    "35": ("fujian", "福建", "Fujian"),
    "36": ("jiangxi", "江西", "Jiangxi"),
    "37": ("shandong", "山东", "Shandong"),
    "41": ("henan", "河南", "Henan"),
    "42": ("hubei", "湖北", "Hubei"),
    "43": ("hunan", "湖南", "Hunan"),
    "44": ("guangdong", "广东", "Guangdong"),
    "45": ("guangxi", "广西", "Guangxi"),
    "46": ("hainan", "海南", "Hainan"),
    "50": ("chongqing", "重庆", "Chongqing"),
    "51": ("sichuan", "四川", "Sichuan"),
    "52": ("guizhou", "贵州", "Guizhou"),
    "53": ("yunnan", "云南", "Yunnan"),
    "54": ("tibet", "西藏", "Tibet"),
    "61": ("shaanxi", "陕西", "Shaanxi"),
    "62": ("gansu", "甘肃", "Gansu"),
    "63": ("qinghai", "青海", "Qinghai"),
    "64": ("ningxia", "宁夏", "Ningxia"),
    "65": ("xinjiang", "新疆", "Xinjiang"),
}

# Region keys of rulesets published before rulesets named their division codes: the code
# prefix each covers (zj-huzhou-2021 states "administrative code 330500" in its region_name).
RULESET_REGION_KEYS: dict[str, str] = {"cn-zj-huzhou": "3305"}

_CODE = re.compile(r"[1-9][0-9]{5}")
# Longest first, so "广西壮族自治区" loses "壮族自治区", not just "自治区".
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_NAMES: dict[str, str] = {}
for _code, (_key, _zh, _en) in PROVINCES.items():
    for _name in (_key, _zh, _en.lower(), _en.lower().replace(" ", "_")):
        _NAMES[_name] = _code


@dataclass(frozen=True, slots=True)
class Region:
    """A region text read as a division code: ``code`` is the most precise prefix known
    (six digits, or a shorter prefix for a province name or a ruleset key)."""

    text: str
    code: str
    province: str  # two-digit province code

    @property
    def province_key(self) -> str:
        return PROVINCES[self.province][0]

    @property
    def province_name(self) -> str:
        zh, en = PROVINCES[self.province][1:]
        return f"{zh} {en}"

    def within(self, prefix: str) -> bool:
        """Whether the region lies inside the division whose codes start with ``prefix``."""
        return self.code.startswith(prefix)


def read_region(text: str | None) -> Region | None:
    """The region ``text`` names, or None when it names no province (or nothing at all)."""
    if not text or not text.strip():
        return None
    raw = text.strip()
    key = raw.lower()
    if _CODE.fullmatch(raw):
        code = raw[:2] if raw.endswith("0000") else (raw[:4] if raw.endswith("00") else raw)
        return Region(raw, code, raw[:2]) if raw[:2] in PROVINCES else None
    if key in RULESET_REGION_KEYS:
        prefix = RULESET_REGION_KEYS[key]
        return Region(raw, prefix, prefix[:2])
    name = raw
    for suffix in _SUFFIXES:
        name = name.removesuffix(suffix)
    code = _NAMES.get(name) or _NAMES.get(key) or _NAMES.get(key.replace(" ", "_"))
    return Region(raw, code, code) if code else None
