"""The chain commands as an operator runs them: real processes, clean one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anchoring.devchain import DevChain
from devtools.local_server import free_port

CLI = str(Path(sys.executable).parent / "carbon-ledger")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def env_for(data_dir: Path, rpc_url: str, **extra: str) -> dict[str, str]:
    return {"CARBON_DATA_DIR": str(data_dir), "CARBON_RPC_URL": rpc_url, **extra}


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unreachable_chain_is_one_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(env_for(tmp_path, url), "deploy")
    assert_one_line_error(result, url, "carbon-ledger chain up")


def test_wrong_chain_id_is_refused(tmp_path: Path, dev_chain: DevChain) -> None:
    result = run(env_for(tmp_path, dev_chain.rpc_url, CARBON_CHAIN_ID="5"), "deploy")
    assert_one_line_error(result, "chainId 1337", "expected 5")


def test_no_contract_code_at_recorded_address(tmp_path: Path, dev_chain: DevChain) -> None:
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    account = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"  # an account, not a contract
    (deployments / "1337.json").write_text(
        json.dumps(
            {
                "chain_id": 1337,
                "address": account,
                "tx_hash": "0x" + "00" * 32,
                "block_number": 0,
                "artifact_hash": "0x",
                "deployed_bytecode_hash": "0x",
                "admin": account,
                "anchorer": account,
            }
        )
    )
    result = run(env_for(tmp_path, dev_chain.rpc_url), "chain", "status")
    assert result.returncode == 1 and "chain up" in result.stdout
    assert_one_line_error(result, "no contract code at", account)


def test_deploy_twice_reuses_the_live_deployment(tmp_path: Path, dev_chain: DevChain) -> None:
    env = env_for(tmp_path, dev_chain.rpc_url)
    first = run(env, "deploy")
    second = run(env, "deploy")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith("deployed CarbonAnchor at ")
    address = first.stdout.split()[3]
    assert second.stdout.startswith(f"reusing CarbonAnchor at {address}")
    record = json.loads((tmp_path / "deployments" / "1337.json").read_text())
    assert record["address"] == address


def test_dev_accounts_refused_off_loopback(tmp_path: Path) -> None:
    from anchoring.operator import OperatorKeyError, dev_account

    with pytest.raises(OperatorKeyError, match="only for the local dev chain"):
        dev_account(0, "http://10.0.0.8:8545", 1337)
    with pytest.raises(OperatorKeyError, match="only for the local dev chain"):
        dev_account(0, "http://127.0.0.1:8545", 1)


def test_chain_up_status_down_cycle(tmp_path: Path) -> None:
    port = free_port()
    env = env_for(tmp_path, f"http://127.0.0.1:{port}", CARBON_CHAIN_PORT=str(port))
    try:
        assert run(env, "chain", "up").returncode == 0
        assert run(env, "chain", "up").returncode == 0  # idempotent: reuses the running chain
        status = run(env, "chain", "status")
        assert status.returncode == 0 and "chainId 1337" in status.stdout
        pid = DevChain(tmp_path / "chain", port).pid()
        assert pid is not None
    finally:
        down = run(env, "chain", "down")
    assert down.returncode == 0 and "chain stopped" in down.stdout
    assert run(env, "chain", "status").returncode == 1
