"""Build the MT5 adapter the configuration asks for: simulator, native module or mt5linux."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.port import BrokerPort
from oms.broker.worker import (
    ImportModule,
    Mt5LinuxClient,
    ProcessWorker,
    SameObject,
    ThreadWorker,
    Worker,
)
from oms.config import Settings
from oms.errors import OmsError


class BrokerConfigError(OmsError):
    """The MT5 settings are incomplete or contradictory."""


def mt5_password(settings: Settings) -> SecretStr | None:
    """The terminal password from OMS_MT5_PASSWORD, or read from OMS_MT5_PASSWORD_FILE."""
    if settings.mt5_password is not None and settings.mt5_password_file is not None:
        raise BrokerConfigError("set either OMS_MT5_PASSWORD or OMS_MT5_PASSWORD_FILE, not both")
    if settings.mt5_password_file is None:
        return settings.mt5_password
    try:
        text = settings.mt5_password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BrokerConfigError(
            f"cannot read the MT5 password file {settings.mt5_password_file}: {exc.strerror}"
        ) from exc
    if not text:
        raise BrokerConfigError(f"the MT5 password file {settings.mt5_password_file} is empty")
    return SecretStr(text)


def login_args(settings: Settings) -> LoginArgs:
    """initialize() arguments from the settings (the password revealed only here)."""
    password = mt5_password(settings)
    if password is not None and settings.mt5_login is None:
        raise BrokerConfigError("OMS_MT5_PASSWORD needs OMS_MT5_LOGIN")
    return LoginArgs(
        path=settings.mt5_terminal_path,
        login=settings.mt5_login,
        password=None if password is None else password.get_secret_value(),
        server=settings.mt5_server,
        timeout_ms=settings.mt5_connect_timeout_ms,
    )


def policy(settings: Settings) -> AdapterPolicy:
    """Timeouts and retry bounds from the settings."""
    return AdapterPolicy(
        call_timeout_s=settings.mt5_call_timeout_s,
        requote_attempts=settings.mt5_requote_attempts,
        deviation_points=settings.mt5_deviation_points,
    )


def build_broker(settings: Settings) -> Mt5Broker:
    """The adapter over the configured backend, not yet connected (call `connect()`)."""
    worker: Worker
    rebuild = False
    if settings.mt5_backend == "sim":
        from oms.broker.sim import SimulatedTerminal

        terminal = SimulatedTerminal(
            seed=settings.mt5_sim_seed, margin_mode=settings.mt5_sim_margin_mode
        )
        worker = ThreadWorker(SameObject(terminal))
    elif settings.mt5_backend == "mt5linux":
        worker = ThreadWorker(
            Mt5LinuxClient(
                settings.mt5linux_host, settings.mt5linux_port, settings.mt5_call_timeout_s
            )
        )
        rebuild = True
    else:
        worker = ProcessWorker(ImportModule("MetaTrader5"))
    return Mt5Broker(worker, login_args(settings), policy(settings), rebuild_on_reconnect=rebuild)


def broker_port(settings: Settings) -> BrokerPort:
    """The configured adapter as the engine sees it: only the BrokerPort surface."""
    return build_broker(settings)


class NewSimulator:
    """A picklable terminal factory: a fresh simulator, built where the worker runs."""

    def __init__(self, seed: int = 1, margin_mode: str = "hedging") -> None:
        self.seed = seed
        self.margin_mode = margin_mode

    def __call__(self) -> Any:
        from oms.broker.sim import SimulatedTerminal

        return SimulatedTerminal(seed=self.seed, margin_mode=self.margin_mode)
