"""The carbon-verify console script as a user runs it: exit codes 0 / 1 / 2 and its output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from anchoring.anchor_contract import AnchorContract
from anchoring.devchain import DevChain
from tests.verifier.record_bundle_factory import Case, make_case, tamper, unused_port
from verifier.checks.record import CHECKS

CARBON_VERIFY = Path(sys.executable).parent / "carbon-verify"
OFFLINE_VALID = (
    "VALID offline: signatures, leaves and paths hold; the chain was NOT checked "
    "(run with --rpc URL)"
)


@pytest.fixture
def case(anchor: AnchorContract, operator_account: LocalAccount) -> Case:
    return make_case(anchor, operator_account)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not CARBON_VERIFY.exists():
        pytest.skip("carbon-verify is not installed: pip install --no-deps -e .")
    return subprocess.run(
        [str(CARBON_VERIFY), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def write(tmp_path: Path, data: object, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_valid_online_and_offline(case: Case, dev_chain: DevChain, tmp_path: Path) -> None:
    path = write(tmp_path, case.bundle.to_json())
    online = run("record", path, "--rpc", dev_chain.rpc_url)
    assert online.returncode == 0, online.stdout + online.stderr
    lines = online.stdout.splitlines()
    assert lines[-1] == "VALID"
    assert len([line for line in lines if line.startswith("✓")]) == len(CHECKS)
    offline = run("record", path, "--offline")
    assert offline.returncode == 0
    assert offline.stdout.splitlines()[-1] == OFFLINE_VALID
    assert "skipped: offline" in offline.stdout


def test_json_output(case: Case, dev_chain: DevChain, tmp_path: Path) -> None:
    path = write(tmp_path, case.bundle.to_json())
    done = run("record", path, "--rpc", dev_chain.rpc_url, "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert report["valid"] is True and report["failedCheck"] is None
    assert [c["status"] for c in report["checks"]] == ["passed"] * len(CHECKS)
    assert report["record"]["digest"] == case.bundle.leaf.digest
    assert report["record"]["value"] == "125.000"


def test_invalid_exits_1_naming_the_check(case: Case, dev_chain: DevChain, tmp_path: Path) -> None:
    def change(data: dict) -> None:
        data["typedData"]["message"]["quantity"] = "1"

    path = write(tmp_path, tamper(case.bundle, change).to_json())
    done = run("record", path, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("INVALID: signature: ")
    assert "the record's content changed after it was signed" in done.stdout
    report = json.loads(run("record", path, "--offline", "--json").stdout)
    assert report["valid"] is False and report["failedCheck"] == "signature"
    assert report["failure"] == "SignatureMismatch"


def test_untrusted_artifact_exits_1(case: Case, dev_chain: DevChain, tmp_path: Path) -> None:
    artifact = write(tmp_path, {"contractName": "Other", "deployedBytecode": "0x00"}, "a.json")
    path = write(tmp_path, case.bundle.to_json())
    done = run("record", path, "--rpc", dev_chain.rpc_url, "--artifact", artifact)
    assert done.returncode == 1
    assert "INVALID: contract-code: " in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ({"format": "something-else"}, "not a carbon-ledger/record-proof bundle"),
        ({"format": "carbon-ledger/record-proof", "version": 3}, "unsupported bundle version"),
        ({"format": "carbon-ledger/record-proof", "version": 1}, "typedData"),
    ],
)
def test_unusable_bundle_exits_2(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "missing.json" if content is None else write(tmp_path, content)
    done = run("record", path, "--offline")
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_rpc_is_required_unless_offline(case: Case, tmp_path: Path) -> None:
    done = run("record", write(tmp_path, case.bundle.to_json()))
    assert done.returncode == 2
    assert "--rpc" in done.stderr and "--offline" in done.stderr


def test_unreachable_rpc_exits_2(case: Case, tmp_path: Path) -> None:
    path = write(tmp_path, case.bundle.to_json())
    done = run("record", path, "--rpc", f"http://127.0.0.1:{unused_port()}", "--json")
    assert done.returncode == 2
    assert "cannot reach RPC endpoint" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["unusable"] is True


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("record", tmp_path / "b.json", "--rpc", "http://x", "--offline").returncode == 2
    assert run().returncode == 2


def test_another_chain_cannot_decide(
    anchor: AnchorContract, operator_account: LocalAccount, dev_chain: DevChain, tmp_path: Path
) -> None:
    """A bundle anchored on chain 1, asked of an endpoint serving 1337: not a forgery, but
    nothing this endpoint can judge. Both chain ids are named."""
    case = make_case(anchor, operator_account, chain_id=1)
    path = write(tmp_path, case.bundle.to_json())
    done = run("record", path, "--rpc", dev_chain.rpc_url)
    assert done.returncode == 2
    last = done.stdout.splitlines()[-1]
    assert last.startswith("CANNOT DECIDE: chain-id: ")
    assert "chain 1337" in last and "names 1" in last
    report = json.loads(run("record", path, "--rpc", dev_chain.rpc_url, "--json").stdout)
    assert (report["failedCheck"], report["failure"]) == ("chain-id", "ChainIdMismatch")


def test_help_lists_the_exit_codes() -> None:
    for args in ((), ("record",)):
        done = run(*args, "--help")
        assert done.returncode == 0
        for line in ("0  valid", "1  invalid", "2  cannot decide", "example:"):
            assert line in done.stdout, (args, done.stdout)
