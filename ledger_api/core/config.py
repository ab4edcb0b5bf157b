"""All settings of the ledger, its CLI and its workers, in one place.

Values come from, highest first: the environment (``CARBON_*``), the TOML file named by
``CARBON_CONFIG`` (default ``carbon-ledger.toml`` in the working directory, if present), then
the defaults below. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from accounting.spreadsheets import FileLimits

DEV_CHAIN_ID = 1337


def _config_file() -> Path:
    return Path(os.environ.get("CARBON_CONFIG", "carbon-ledger.toml"))


class Settings(BaseSettings):
    """Ledger settings; see the module docstring for where values come from."""

    model_config = SettingsConfigDict(env_prefix="CARBON_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the chain, database and records live.")

    # Chain
    rpc_url: str = Field("http://127.0.0.1:8545", description="EVM JSON-RPC endpoint.")
    chain_id: int | None = Field(None, description="Expected chainId; checked when set.")
    chain_port: int = Field(8545, description="Port of the local dev chain (`chain up`).")
    rpc_timeout_s: float = 10.0
    confirmations: int = Field(0, ge=0, description="Blocks to wait after an anchor's receipt.")

    # Operator key: an encrypted keystore, or the well-known dev accounts on the dev chain only.
    keystore_path: Path | None = None
    keystore_passphrase: SecretStr | None = None
    keystore_passphrase_file: Path | None = None
    dev_accounts: bool = Field(
        True, description="Use the dev chain's well-known accounts (only on a loopback dev chain)."
    )

    # Ledger
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite.")
    identifier_prefix: str = Field("88.118.8", description="Prefix of identifiers we mint.")
    reporting_utc_offset_h: int = Field(
        8, ge=-12, le=14, description="Local time of reporting periods (China: UTC+8)."
    )
    max_batch_records: int = Field(10_000, gt=0, description="Records per ingestion batch.")
    max_request_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="Largest request body accepted (413 above)."
    )
    upload_limits: FileLimits = Field(
        default_factory=FileLimits,
        description="Bounds on uploaded and read files (bulk registrations, `calc`): JSON in "
        "the environment, a table in the TOML file; docs/security.md, Uploads.",
    )
    ingest_rate_limit: str = Field(
        "600000/minute", description="Records each principal may submit per window."
    )
    population_min_members: int = Field(
        5, ge=3, description="Fewest attested peers a population average is computed from."
    )
    log_level: str = Field("INFO", description="Level of the JSON logs on standard error.")
    api_key: SecretStr | None = Field(
        None, description="The API key CLI commands present to the ledger API (never logged)."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(
        1, ge=1, description="API processes; one keeps a core busy at about 6,000 records/s."
    )
    anchor_max_batch: int = Field(
        25_000, gt=0, description="Leaves per tree: bounds the worker's memory (~30 MB a tree)."
    )
    anchor_interval_s: float = Field(5.0, gt=0)
    anchor_lease_s: float = Field(
        30.0,
        ge=1,
        description="Seconds an anchoring worker's lease lasts unrenewed: how long a stand-by "
        "waits after the holder dies (docs/deploy.md).",
    )

    # Monitoring worker and its webhooks (docs/monitoring.md).
    monitor_interval_s: float = Field(2.0, gt=0, description="Seconds between monitor rounds.")
    monitor_round_records: int = Field(
        20_000, gt=0, description="Records one monitor round folds in (bounds its memory)."
    )
    webhook_allow_private: bool = Field(
        False, description="Allow webhook URLs on loopback or private addresses (tests only)."
    )
    webhook_max_attempts: int = Field(
        16, ge=1, description="Attempts before a delivery is dead-lettered."
    )
    webhook_backoff_s: float = Field(5.0, gt=0, description="First retry delay; doubles.")
    webhook_backoff_max_s: float = Field(600.0, gt=0, description="Longest retry delay.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Seconds a receiver may take.")

    # Public pages: where a scanned 碳效码 lands, and the chain endpoint its browser reads.
    public_base_url: str | None = Field(
        None, description="Base URL of the public pages; the report's QR code links there."
    )
    public_rpc_url: str | None = Field(
        None, description="JSON-RPC endpoint browsers verify against (never the ledger)."
    )

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def deployments_dir(self) -> Path:
        return self.data_dir / "deployments"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ledger.sqlite'}"

    def passphrase(self) -> str | None:
        """The keystore passphrase, from the environment or from its file."""
        if self.keystore_passphrase is not None:
            return self.keystore_passphrase.get_secret_value()
        if self.keystore_passphrase_file is not None:
            return self.keystore_passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
