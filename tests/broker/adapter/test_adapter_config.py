"""Backend selection and credentials from settings; the password never shows in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from oms.broker.mt5.factory import BrokerConfigError, build_broker, login_args, mt5_password
from oms.broker.port import OutcomeStatus
from oms.broker.worker import ProcessWorker, ThreadWorker
from oms.config import Settings
from tests.broker.adapter.conftest import market


def test_password_from_the_environment_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_MT5_BACKEND", "mt5linux")
    monkeypatch.setenv("OMS_MT5_LOGIN", "123")
    monkeypatch.setenv("OMS_MT5_PASSWORD", "hunter2")
    monkeypatch.setenv("OMS_MT5LINUX_PORT", "18999")
    settings = Settings()
    assert settings.mt5_backend == "mt5linux" and settings.mt5linux_port == 18999
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    args = login_args(settings)
    assert args.password == "hunter2" and args.login == 123
    assert "hunter2" not in repr(args)


def test_password_from_a_secrets_file(tmp_path: Path) -> None:
    secret = tmp_path / "mt5.pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    settings = Settings(mt5_login=1, mt5_password_file=secret)
    password = mt5_password(settings)
    assert password is not None and password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mt5_password_file": Path("/nonexistent/mt5.pw")}, "cannot read the MT5 password file"),
        ({"mt5_password": "a", "mt5_password_file": Path("x")}, "either"),
        ({"mt5_password": "a"}, "needs OMS_MT5_LOGIN"),
    ],
)
def test_bad_credentials_settings_name_the_problem(fields: dict[str, object], message: str) -> None:
    with pytest.raises(BrokerConfigError, match=message):
        login_args(Settings(**fields))  # type: ignore[arg-type]


def test_empty_password_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(BrokerConfigError, match="is empty"):
        mt5_password(Settings(mt5_password_file=empty))


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValidationError, match="mt5_backend"):
        Settings(mt5_backend="wine")  # type: ignore[arg-type]


async def test_each_backend_gets_its_worker() -> None:
    sim = build_broker(Settings(mt5_backend="sim", mt5_sim_margin_mode="netting"))
    assert isinstance(sim.worker, ThreadWorker)
    await sim.connect()
    assert (await sim.place(market("C-1"))).status is OutcomeStatus.FILLED
    await sim.close()
    linux = build_broker(Settings(mt5_backend="mt5linux"))
    assert isinstance(linux.worker, ThreadWorker)
    await linux.worker.close()
    native = build_broker(Settings(mt5_backend="native"))
    assert isinstance(native.worker, ProcessWorker)
    await native.worker.close()
