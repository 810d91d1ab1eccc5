"""`oms sim serve`: one simulated terminal behind an RPyC socket, for mt5linux clients."""

from __future__ import annotations

import signal
import sys
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer

from oms.cli.main import app
from oms.errors import OmsError

sim_app = typer.Typer(no_args_is_help=True, help="The simulated MetaTrader 5 terminal.")
app.add_typer(sim_app, name="sim")


class MarginMode(StrEnum):
    """Account kinds the simulator offers."""

    HEDGING = "hedging"
    NETTING = "netting"


@sim_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 18812,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback exposes the account.")
    ] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market.")] = 1,
    margin_mode: Annotated[MarginMode, typer.Option(help="Account kind.")] = MarginMode.HEDGING,
    step_ms: Annotated[
        int, typer.Option(min=0, help="Wall-clock ms between market steps; 0 freezes prices.")
    ] = 100,
) -> None:
    """Serve one simulated terminal to mt5linux clients until interrupted."""
    try:
        from oms.broker.bridge import make_server
    except ImportError as exc:
        raise OmsError(
            f"oms sim serve needs RPyC ({exc.name} is missing): pip install 'oms[mt5linux]'"
        ) from exc
    from oms.broker.sim import SimulatedTerminal
    from oms.broker.sim.pacer import Pacer

    if step_ms:
        terminal = SimulatedTerminal(seed=seed, margin_mode=margin_mode.value, step_msc=step_ms)
    else:
        terminal = SimulatedTerminal(seed=seed, margin_mode=margin_mode.value)
    server = make_server(terminal, host=host, port=port)

    pacer = Pacer(terminal.market).start() if step_ms else None

    def stop(signum: int, frame: FrameType | None) -> None:
        server.close()

    signal.signal(signal.SIGTERM, stop)
    print(f"serving a simulated terminal on {host}:{server.port}", flush=True)
    try:
        server.start()
    except KeyboardInterrupt:
        server.close()
    finally:
        if pacer is not None:
            pacer.stop()
    print("stopped", file=sys.stderr, flush=True)
