"""The one configuration object, built at the entry point and passed down (env prefix OMS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from oms.market.signals import SignalConfig

DEFAULT_DATABASE_URL = "sqlite:///oms.db"


class Settings(BaseSettings):
    """Everything the OMS can be told from the environment or a TOML file."""

    model_config = SettingsConfigDict(env_prefix="OMS_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    market_signals: SignalConfig = Field(default_factory=SignalConfig)
