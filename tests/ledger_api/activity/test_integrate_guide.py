"""docs/integrate.md, run as an outsider runs it: every code block that names a file is
extracted and run unchanged against a real ledger and chain (curl, python with eth-account,
node with ethers), and the records they sign are accepted, anchored and proved."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from anchoring.devchain import DevChain
from devtools.seeding import reading, register
from ledger_api.commands.serve import build_worker
from terminal.client import BatchRejected, Terminal
from tests.conftest import LedgerServer

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "integrate.md"
BLOCK = re.compile(r"^```(\w+) file=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUNNERS = {"sh": ["bash", "-eu"], "python": [sys.executable], "js": ["node"]}
ENTERPRISE = "88.118.8/CL-ENT-EXAMPLE-01"
SOURCE = "88.118.8/CL-SRC-EXAMPLE-01-GRID"


def blocks() -> dict[str, tuple[str, str]]:
    """``file name → (language, code)`` of every runnable block of the guide."""
    found = {name: (lang, code) for lang, name, code in BLOCK.findall(GUIDE.read_text())}
    assert len(found) == len(BLOCK.findall(GUIDE.read_text())), "two blocks share a file name"
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the blocks are written; node resolves ``ethers`` through the repository's
    node_modules, as in a project that installed it."""
    work = tmp_path / "guide"
    work.mkdir()
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    return work


def run(workdir: Path, name: str, env: dict[str, str]) -> str:
    """Run block ``name`` of the guide as written; its standard output."""
    lang, code = blocks()[name]
    (workdir / name).write_text(code)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        [*RUNNERS[lang], name],
        cwd=workdir,
        env={"PATH": path, "HOME": str(workdir), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_every_block_of_the_guide_runs(
    ledger: LedgerServer, dev_chain: DevChain, workdir: Path
) -> None:
    enterprise_key, terminal_key = Account.create(), Account.create()
    env = {
        "CARBON_API_URL": ledger.base_url,
        "ENTERPRISE": ENTERPRISE,
        "SOURCE": SOURCE,
        "ENTERPRISE_SIGNING_KEY": "0x" + bytes(enterprise_key.key).hex(),
        "TERMINAL_SIGNING_KEY": "0x" + bytes(terminal_key.key).hex(),
    }
    # 2. the operator enrols the enterprise and issues its key
    operator = {"ADMIN_KEY": ledger.token, "ENTERPRISE_SIGNER": enterprise_key.address}
    enrolled, principal = json_lines(run(workdir, "keys.sh", env | operator))
    assert enrolled["identifier"] == ENTERPRISE
    env["CARBON_API_KEY"] = principal["key"]["token"]
    # 3. the enterprise signs its source and terminal into its registry, keys the terminal
    run(workdir, "register.py", env)
    device = ledger.get(f"/v1/devices/{terminal_key.address}").json()
    assert device["sources"] == [SOURCE] and device["status"] == "active"
    (terminal,) = json_lines(
        run(workdir, "terminal-key.sh", env | {"TERMINAL_ADDRESS": terminal_key.address})
    )
    # 4. the terminal signs with ethers, then with eth-account
    as_terminal = env | {"CARBON_API_KEY": terminal["key"]["token"]}
    digests = []
    for name, seq in (("sign.mjs", "1"), ("sign.py", "2")):
        (answer,) = json_lines(run(workdir, name, as_terminal | {"SEQ": seq}))
        assert (answer["accepted"], answer["records"][0]["status"]) == (1, "stored")
        digests.append(answer["records"][0]["digest"])
    build_worker(ledger.settings()).run_once()
    for digest in digests:
        # 6. the proof, then 5. its batch both ways, then the verifier against the chain
        root, chain_batch_id = run(workdir, "proof.py", env | {"DIGEST": digest}).split()
        lookup = {"AUDITOR_KEY": ledger.token, "ROOT": root, "CHAIN_BATCH_ID": chain_batch_id}
        by_chain, by_root = json_lines(run(workdir, "batch.sh", env | lookup))
        assert by_chain == by_root and by_root["root"] == root
        assert by_root["anchor"]["batchId"] == int(chain_batch_id)
        run(workdir, "verify.sh", {"CARBON_RPC_URL": dev_chain.rpc_url})


def test_ethers_refuses_the_served_types_with_the_domain_type(
    ledger: LedgerServer, workdir: Path
) -> None:
    """Why the guide strips ``EIP712Domain``: left in, ethers cannot sign at all."""
    served = ledger.get("/v1/typed-data").json()
    script = (
        'import { Wallet } from "ethers";\n'
        f"const s = {json.dumps(served)};\n"
        "try { await Wallet.createRandom().signTypedData(s.domain, s.types, {}); }\n"
        "catch (e) { console.log(e.message); }\n"
    )
    (workdir / "ambiguous.mjs").write_text(script)
    done = subprocess.run(
        ["node", "ambiguous.mjs"], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert "ambiguous primary types" in done.stdout


def test_units_are_served_from_the_engines_tables(ledger: LedgerServer) -> None:
    units = ledger.get("/v1/units").json()
    by_activity = {a["activity"]: a for a in units["activities"]}
    gas = by_activity["fuel.natural_gas"]
    assert gas["canonical"] == ["wan_Nm3", "GJ"]
    # the spellings the guide names are served; m3 is not
    for spelling in ("Nm3", "Nm³", "标立方米", "wan_Nm3", "10^4 Nm3", "万Nm3", "万标立方米"):
        assert spelling in gas["accepted"]
    assert "m3" not in gas["accepted"]
    assert {"kWh", "MWh", "GJ", "kgce", "tce", "kcal"} <= set(
        by_activity["electricity.purchased"]["accepted"]
    )
    assert {"t", "kg", "tonne"} <= set(by_activity["process.clinker"]["accepted"])
    assert ledger.get("/v1/units", "cl_not_a_key").status_code == 401


@pytest.mark.parametrize(("unit", "code"), [("m3", "unknown_unit"), ("t", "unit_mismatch")])
def test_a_refused_unit_names_the_accepted_ones(ledger: LedgerServer, unit: str, code: str) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal)
    client = ledger.ledger_client()
    record = reading(terminal, ENTERPRISE, SOURCE, seq=1, activity="fuel.natural_gas", unit=unit)
    with pytest.raises(BatchRejected) as refused:
        client.submit([terminal.sign(client.domain(), record)])
    (problem,) = refused.value.problems
    assert (problem["code"], problem["field"]) == (code, "record.unit")
    assert "fuel.natural_gas accepts wan_Nm3, GJ, Nm3," in problem["message"]
    assert "GET /v1/units" in problem["message"]


def test_the_ingest_body_is_typed_in_the_openapi(ledger: LedgerServer) -> None:
    schema = ledger.get("/openapi.json").json()["components"]["schemas"]
    record = schema["SignedRecordIn"]["properties"]["record"]
    assert record["title"] == "ActivityRecordMessage"
    fields = [f["name"] for f in ledger.get("/v1/typed-data").json()["types"]["ActivityRecord"]]
    assert list(record["properties"]) == fields and sorted(record["required"]) == sorted(fields)
    for name in ("seq", "quantity", "decimals", "periodStart", "periodEnd"):
        assert record["properties"][name] == record["properties"][name] | {
            "type": "string",
            "pattern": "^[0-9]+$",
        }
    # typed for the reader, while ingestion still reports a bad record by its index and code
    bad = {"records": [{"record": {"seq": 1}, "signature": "0x" + "11" * 65}]}
    answer = httpx.post(
        f"{ledger.base_url}/v1/activity-batches",
        json=bad,
        headers={"Authorization": f"Bearer {ledger.token}"},
    )
    assert answer.status_code == 422
    (problem,) = answer.json()["error"]["problems"]
    assert (problem["index"], problem["code"]) == (0, "invalid_record")


def test_the_readme_lists_every_setting() -> None:
    """The guide sends outsiders to the README's settings table: it must be complete."""
    from ledger_api.core.config import Settings

    table = (ROOT / "README.md").read_text().split("| Setting |")[1].split("\n\n")[0]
    # "`CARBON_A` / `_B`" lists CARBON_A and CARBON_B; "`CARBON_A` / `CARBON_B`" both.
    listed = set(re.findall(r"`CARBON_([A-Z_]+)`", table))
    listed |= {a + b for a, b in re.findall(r"`CARBON_([A-Z_]+?)` / `(_[A-Z_]+)`", table)}
    assert {name.upper() for name in Settings.model_fields} <= listed
