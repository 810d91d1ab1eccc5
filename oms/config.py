"""The one configuration object, built at the entry point and passed down (env prefix OMS_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from oms.market.signals import SignalConfig

DEFAULT_DATABASE_URL = "sqlite:///oms.db"


class Settings(BaseSettings):
    """Everything the OMS can be told from the environment or a TOML file."""

    model_config = SettingsConfigDict(env_prefix="OMS_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL

    # MetaTrader 5 terminal (the adapter in oms/broker/mt5). The password comes from
    # OMS_MT5_PASSWORD or the file named by OMS_MT5_PASSWORD_FILE; it is never logged.
    mt5_backend: Literal["sim", "native", "mt5linux"] = "sim"
    mt5_terminal_path: str | None = None
    mt5_login: int | None = None
    mt5_server: str | None = None
    mt5_password: SecretStr | None = None
    mt5_password_file: Path | None = None
    mt5linux_host: str = "127.0.0.1"
    mt5linux_port: int = 18812
    mt5_connect_timeout_ms: int = 60_000
    mt5_call_timeout_s: float = 10.0
    mt5_requote_attempts: int = 3
    mt5_deviation_points: int = 20
    mt5_sim_seed: int = 1
    mt5_sim_margin_mode: Literal["hedging", "netting"] = "hedging"

    # Thresholds of the market microstructure signals (oms/market/signals.py).
    market_signals: SignalConfig = Field(default_factory=SignalConfig)

    # Reconciler (oms/reconcile): the journal account code of the terminal's account, how
    # that account keeps positions, and how often the scheduled run compares the two.
    reconcile_account: str = "A1"
    reconcile_account_mode: Literal["hedging", "netting"] | None = None  # None: as the sim
    reconcile_interval_s: float = 60.0
    reconcile_lock_timeout_s: float = 30.0
