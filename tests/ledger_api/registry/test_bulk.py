"""Bulk registration files: CSV and XLSX parsing, cross-row checks, the dry-run report."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest

from ledger_api.registry import bulk
from ledger_api.registry.bulk import BulkPlan, Known, RowProblem, dry_run_csv, dry_run_xlsx
from ledger_api.registry.metadata_templates import TemplateCatalog as TemplateRegistry

LEDGER = {"88.118.8"}
USCC = "91350100M000100Y43"
ADDRESS_1 = "0x" + "11" * 20
ADDRESS_2 = "0x" + "22" * 20
ENTERPRISES = """identifier,name,uscc,region,industry,capacity_kt,clinker_capacity_tpd
88.118.8/CL-ENT-AL,Yunnan Smelter,91350100M000100Y43,530100,aluminium,350,
88.118.8/cl-ent-cem,Anhui Cement,91350100M000100Y43,340100,cement,,5000
"""
SOURCES = """identifier,enterprise,name,kind,activities,potline_technology,kiln_process
88.118.8/CL-SRC-POT1,88.118.8/CL-ENT-AL,Pot 1,process,process.anode; process.pfc.slope.cwpb,cwpb,
88.118.8/CL-SRC-KILN1,88.118.8/CL-ENT-CEM,Kiln 1,process,process.clinker,,precalciner_dry
88.118.8/CL-SRC-CAST,88.118.8/CL-ENT-AL,Casthouse,combustion,fuel.natural_gas,,
"""
TERMINALS = f"""identifier,address,enterprise,sources,model,serial,meter_class,calibration_due
88.118.8/CL-DEV-1,{ADDRESS_1},88.118.8/CL-ENT-AL,88.118.8/CL-SRC-POT1;88.118.8/CL-SRC-CAST,EM-3,SN1,0.5S,2026-01-31
"""


@pytest.fixture(scope="module")
def registry() -> TemplateRegistry:
    return TemplateRegistry.default()


def problems_of(
    result: BulkPlan | list[RowProblem],
) -> list[tuple[str, int | None, str | None, str]]:
    assert isinstance(result, list), result
    return [(p.sheet, p.row, p.column, p.code) for p in result]


def test_valid_csv_files_give_a_plan_in_dependency_order(registry: TemplateRegistry) -> None:
    files = {"terminals": TERMINALS, "sources": SOURCES, "enterprises": ENTERPRISES.encode()}
    result = dry_run_csv(files, registry, allowed_prefixes=LEDGER)
    assert isinstance(result, BulkPlan)
    assert [(r.kind, r.identifier) for r in result.rows] == [
        ("enterprise", "88.118.8/CL-ENT-AL"),
        ("enterprise", "88.118.8/CL-ENT-CEM"),
        ("source", "88.118.8/CL-SRC-POT1"),
        ("source", "88.118.8/CL-SRC-KILN1"),
        ("source", "88.118.8/CL-SRC-CAST"),
        ("terminal", "88.118.8/CL-DEV-1"),
    ]
    cement = result.enterprises[1]
    assert cement.template_id.endswith("/industry/cement/v1")
    assert cement.document == {
        "name": "Anhui Cement",
        "uscc": USCC,
        "region": "340100",
        "industry": "cement",
        "clinker_capacity_tpd": "5000",
    }
    pot = result.sources[0]
    assert pot.enterprise == "88.118.8/CL-ENT-AL"
    assert pot.document["activities"] == ["process.anode", "process.pfc.slope.cwpb"]
    terminal = result.terminals[0]
    assert terminal.sources == ("88.118.8/CL-SRC-POT1", "88.118.8/CL-SRC-CAST")
    assert terminal.address == "0x1111111111111111111111111111111111111111"
    assert (terminal.sheet, terminal.row) == ("terminals", 2)


def test_csv_reports_every_problem_with_sheet_row_and_column(registry: TemplateRegistry) -> None:
    enterprises = ENTERPRISES.replace("530100,aluminium,350", "530100,aluminium,3.5e2") + (
        "88.118.8/CL-ENT-\u0430,Bad Co,91350100M000100Y44,340100,cement,,\n"
    )
    sources = SOURCES.replace("process.clinker,", "process.anode,") + (
        "88.118.8/CL-SRC-POT1,88.118.8/CL-ENT-AL,Again,process,process.anode,,\n"
        "88.118.8/CL-SRC-X,88.118.8/CL-ENT-NONE,Orphan,process,process.anode,,\n"
        "88.118.9/CL-SRC-Y,88.118.8/CL-ENT-AL,Foreign,heat,heat.purchased,,\n"
    )
    terminals = TERMINALS + (
        f"88.118.8/CL-DEV-2,{ADDRESS_1},88.118.8/CL-ENT-AL,88.118.8/CL-SRC-KILN1,EM,S2,0.5S,2026-02-30\n"
        f"88.118.8/CL-DEV-3,0x12,88.118.8/CL-ENT-AL,88.118.8/CL-SRC-GONE,EM,S3,,2026-01-31\n"
    )
    files = {"enterprises": enterprises, "sources": sources, "terminals": terminals}
    result = dry_run_csv(files, registry, allowed_prefixes=LEDGER)
    assert problems_of(result) == [
        ("enterprises", 2, "capacity_kt", "template_violation"),
        ("enterprises", 4, "identifier", "confusable_character"),
        ("enterprises", 4, "uscc", "template_violation"),
        ("sources", 3, "activities", "activity_not_allowed"),
        ("sources", 5, "identifier", "duplicate_identifier"),
        ("sources", 6, "enterprise", "unknown_enterprise"),
        ("sources", 7, "identifier", "foreign_prefix"),
        ("terminals", 3, "address", "duplicate_address"),
        ("terminals", 3, "sources", "source_not_in_enterprise"),
        ("terminals", 3, "calibration_due", "template_violation"),
        ("terminals", 4, "address", "invalid_address"),
        ("terminals", 4, "sources", "unknown_source"),
        ("terminals", 4, "meter_class", "template_violation"),
    ]
    messages = {(p.sheet, p.row, p.column): p.message for p in result}
    assert "U+0430" in messages[("enterprises", 4, "identifier")]
    assert "sheet sources row 2" in messages[("sources", 5, "identifier")]
    assert "'meter_class' is required" in messages[("terminals", 4, "meter_class")]


def test_case_variants_are_duplicates(registry: TemplateRegistry) -> None:
    enterprises = ENTERPRISES + ENTERPRISES.splitlines()[1].replace("CL-ENT-AL", "cl-ent-al") + "\n"
    result = dry_run_csv({"enterprises": enterprises}, registry)
    assert problems_of(result) == [("enterprises", 4, "identifier", "duplicate_identifier")]


def test_header_problems(registry: TemplateRegistry) -> None:
    files = {
        "enterprises": "identifier,name,name,colour\n88.118.8/CL-ENT-1,A,B,red\n",
        "sources": "enterprise,name\n",
        "products": "identifier\n",
    }
    assert problems_of(dry_run_csv(files, registry)) == [
        ("products", None, None, "unknown_sheet"),
        ("enterprises", 1, "name", "duplicate_column"),
        ("enterprises", 1, "colour", "unknown_column"),
        ("enterprises", 1, "industry", "missing_column"),
        ("sources", 1, "identifier", "missing_column"),
    ]


def test_known_rows_from_the_database(registry: TemplateRegistry) -> None:
    aluminium = registry.for_industry("aluminium").id
    known = Known(
        enterprises={"88.118.8/CL-ENT-OLD": aluminium, "88.118.8/CL-ENT-OTHER": aluminium},
        sources={
            "88.118.8/CL-SRC-OLD": "88.118.8/CL-ENT-OLD",
            "88.118.8/CL-SRC-THEIRS": "88.118.8/CL-ENT-OTHER",
        },
        addresses=frozenset({"0x2222222222222222222222222222222222222222"}),
    )
    sources = (
        "identifier,enterprise,name,kind,activities\n"
        "88.118.8/CL-SRC-NEW,88.118.8/CL-ENT-OLD,New,process,process.anode\n"
        "88.118.8/CL-SRC-OLD,88.118.8/CL-ENT-OLD,Old,process,process.anode\n"
    )
    terminals = (
        "identifier,address,enterprise,sources,model,serial,meter_class,calibration_due\n"
        f"88.118.8/CL-DEV-9,{ADDRESS_2},88.118.8/CL-ENT-OLD,"
        "88.118.8/CL-SRC-NEW;88.118.8/CL-SRC-OLD;88.118.8/CL-SRC-THEIRS,M,S,1,2026-01-01\n"
    )
    result = dry_run_csv({"sources": sources, "terminals": terminals}, registry, known=known)
    assert problems_of(result) == [
        ("sources", 3, "identifier", "already_registered"),
        ("terminals", 2, "address", "already_registered"),
        ("terminals", 2, "sources", "source_not_in_enterprise"),
    ]
    fine = terminals.replace(ADDRESS_2, ADDRESS_1).replace(";88.118.8/CL-SRC-THEIRS", "")
    plan = dry_run_csv(
        {"sources": sources.splitlines()[0] + "\n" + sources.splitlines()[1], "terminals": fine},
        registry,
        known=known,
    )
    assert isinstance(plan, BulkPlan)
    assert plan.terminals[0].sources == ("88.118.8/CL-SRC-NEW", "88.118.8/CL-SRC-OLD")


def test_unreadable_csv(registry: TemplateRegistry) -> None:
    gbk = "identifier,name\n88.118.8/CL-ENT-1,安徽水泥\n".encode("gbk")
    assert problems_of(dry_run_csv({"enterprises": gbk}, registry)) == [
        ("enterprises", None, None, "unreadable_file")
    ]
    assert problems_of(dry_run_csv({}, registry)) == [("", None, None, "empty_file")]


def test_too_many_rows(registry: TemplateRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "MAX_ROWS", 1)
    assert problems_of(dry_run_csv({"sources": SOURCES}, registry)) == [
        ("sources", None, None, "too_many_rows")
    ]


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ENTERPRISE_HEADER = ["identifier", "name", "uscc", "region", "industry", "clinker_capacity_tpd"]
TERMINAL_HEADER = [
    "identifier",
    "address",
    "enterprise",
    "sources",
    "model",
    "serial",
    "meter_class",
    "calibration_due",
]


def test_valid_xlsx_converts_numeric_and_date_cells(registry: TemplateRegistry) -> None:
    data = workbook(
        {
            "_notes": [["free text is ignored"]],
            "enterprises": [
                ENTERPRISE_HEADER,
                ["88.118.8/CL-ENT-1", "Anhui Cement", USCC, "340100", "cement", 5000.1],
                [],
                ["88.118.8/CL-ENT-2", "Hubei Cement", USCC, "420100", "cement", 0.00001],
            ],
            "sources": [
                ["identifier", "enterprise", "name", "kind", "activities"],
                ["88.118.8/CL-SRC-1", "88.118.8/CL-ENT-1", "Kiln", "process", "process.clinker"],
            ],
            "terminals": [
                TERMINAL_HEADER,
                [
                    "88.118.8/CL-DEV-1",
                    ADDRESS_1,
                    "88.118.8/CL-ENT-1",
                    "88.118.8/CL-SRC-1",
                    "EM",
                    "S1",
                    "0.5S",
                    datetime(2026, 3, 31),
                ],
                [
                    "88.118.8/CL-DEV-2",
                    ADDRESS_2,
                    "88.118.8/CL-ENT-1",
                    "88.118.8/CL-SRC-1",
                    "EM",
                    "S2",
                    "1",
                    date(2026, 4, 30),
                ],
            ],
        }
    )
    result = dry_run_xlsx(data, registry, allowed_prefixes=LEDGER)
    assert isinstance(result, BulkPlan)
    assert [e.document["clinker_capacity_tpd"] for e in result.enterprises] == ["5000.1", "0.00001"]
    assert [e.row for e in result.enterprises] == [2, 4]
    assert [t.document["calibration_due"] for t in result.terminals] == ["2026-03-31", "2026-04-30"]


def test_xlsx_reports_every_problem_with_sheet_row_and_column(registry: TemplateRegistry) -> None:
    data = workbook(
        {
            "enterprises": [
                ENTERPRISE_HEADER,
                ["88.118.8/CL-ENT-1", "Anhui Cement", USCC, "340100", "cement", "=1+1"],
                [100011234567, "Numbers Co", 913501001234567890, 340100, "cement", True],
                ["88.118.8/CL-ENT-\uff11", "Wide Co", USCC, "340100", "cement", "1"],
            ],
            "sources": [
                ["identifier", "enterprise", "name", "kind", "activities", "colour"],
                ["88.118.8/CL-SRC-1", "88.118.8/CL-ENT-1", "Kiln", "burner", "process.cement", ""],
            ],
            "terminals": [
                TERMINAL_HEADER,
                [
                    "88.118.8/CL-DEV-1",
                    ADDRESS_1,
                    "88.118.8/CL-ENT-1",
                    "88.118.8/CL-SRC-1",
                    "EM",
                    "S1",
                    0.5,
                    datetime(2026, 3, 31, 12, 0),
                ],
            ],
            "devices": [["identifier"]],
        }
    )
    result = dry_run_xlsx(data, registry, allowed_prefixes=LEDGER)
    assert problems_of(result) == [
        ("devices", None, None, "unknown_sheet"),
        ("enterprises", 2, "clinker_capacity_tpd", "formula_cell"),
        ("enterprises", 3, "identifier", "numeric_cell"),
        ("enterprises", 3, "uscc", "numeric_cell"),
        ("enterprises", 3, "region", "numeric_cell"),
        ("enterprises", 3, "clinker_capacity_tpd", "invalid_cell"),
        ("enterprises", 4, "identifier", "confusable_character"),
        ("sources", 1, "colour", "unknown_column"),
        ("sources", 2, "kind", "template_violation"),
        ("sources", 2, "activities", "unknown_activity"),
        ("terminals", 2, "meter_class", "numeric_cell"),
        ("terminals", 2, "calibration_due", "invalid_cell"),
    ]


def test_unreadable_xlsx(registry: TemplateRegistry) -> None:
    assert problems_of(dry_run_xlsx(b"not a zip", registry)) == [
        ("", None, None, "unreadable_file")
    ]


def test_a_cell_openpyxl_cannot_convert_is_an_unreadable_file(registry: TemplateRegistry) -> None:
    from tests.accounting.spreadsheet_bombs import in_sheet, rezip

    data = workbook({"enterprises": [["identifier"], [1]]})
    broken = rezip(data, in_sheet(rb'<c r="A2"( t="n")?><v>1</v>', b'<c r="A2"><v>one</v>'))
    assert problems_of(dry_run_xlsx(broken, registry)) == [("", None, None, "unreadable_file")]


def test_problems_quote_only_an_excerpt_of_a_huge_cell(registry: TemplateRegistry) -> None:
    huge = "Z" * 50_000
    sheet = f"identifier,industry,{huge}\n{huge},cement,x\n"
    result = dry_run_csv({"enterprises": sheet}, registry, allowed_prefixes=LEDGER)
    assert isinstance(result, list)
    assert {(p.row, p.code) for p in result} >= {(1, "unknown_column"), (2, "too_long")}
    assert max(len(p.message) for p in result) <= bulk.MAX_MESSAGE
    assert max(len(p.column or "") for p in result) <= 80
