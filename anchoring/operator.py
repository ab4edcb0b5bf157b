"""The operator's signing key: an encrypted keystore, or a dev account on the dev chain only."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchoring.connection import is_loopback
from anchoring.devchain import DEV_CHAIN_ID, DEV_MNEMONIC


class OperatorKeyError(RuntimeError):
    """No usable operator key (the message never contains key material)."""


def load_keystore(path: Path, passphrase: str | None) -> LocalAccount:
    """Decrypt an Ethereum keystore (Web3 Secret Storage) file."""
    if passphrase is None:
        raise OperatorKeyError(
            f"keystore {path} needs a passphrase: set CARBON_KEYSTORE_PASSPHRASE "
            "or CARBON_KEYSTORE_PASSPHRASE_FILE"
        )
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OperatorKeyError(f"cannot read keystore {path}: {exc.__class__.__name__}") from None
    try:
        return Account.from_key(Account.decrypt(encrypted, passphrase))
    except ValueError:
        raise OperatorKeyError(f"wrong passphrase for keystore {path}") from None


def write_keystore(account: LocalAccount, path: Path, passphrase: str) -> None:
    """Encrypt ``account`` into a new keystore file readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encrypted = Account.encrypt(account.key, passphrase)
    path.touch(mode=0o600, exist_ok=False)
    path.write_text(json.dumps(encrypted), encoding="utf-8")


def dev_account(index: int, rpc_url: str, chain_id: int) -> LocalAccount:
    """Dev account ``index`` of the local dev chain; refused for any other chain."""
    if chain_id != DEV_CHAIN_ID or not is_loopback(rpc_url):
        raise OperatorKeyError(
            f"dev accounts are only for the local dev chain (chainId {DEV_CHAIN_ID} on loopback); "
            "configure CARBON_KEYSTORE_PATH for this chain"
        )
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
