"""Fault injection: what goes wrong with a real terminal, on demand, for recovery tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from oms.broker.sim.constants import C
from oms.broker.sim.records import OrderSendResult
from oms.broker.sim.validation import validate_request
from oms.errors import OmsError

if TYPE_CHECKING:
    from oms.broker.sim.server import TradeServer


class Faults:
    """Switches the terminal consults on every call, plus actions taken behind the OMS's back."""

    def __init__(
        self, lock: threading.RLock, server: TradeServer, result: Callable[..., OrderSendResult]
    ) -> None:
        self._lock = lock
        self._server = server
        self._result = result
        self.ipc_down = False
        self.ipc_error = (C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
        self.needs_initialize = False
        self.server_down = False
        self.algo_trading = True
        self.drop_acks = 0
        self.rejects: list[int] = []

    def disconnect(self, kind: str = "ipc") -> None:
        """Break the link to the terminal or to its trade server, until reconnect().

        "ipc": every call returns None/False with (-10004, 'No IPC connection');
        "hang": the same with (-10005, 'IPC timeout'), a terminal that stopped answering;
        after either, initialize() is needed again once reconnected.
        "server": the terminal stays up but loses its trade server: terminal_info().connected
        is False and order_send answers 10031.
        """
        with self._lock:
            if kind in ("ipc", "hang"):
                self.ipc_down = self.needs_initialize = True
                self.ipc_error = (
                    (C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
                    if kind == "ipc"
                    else (C.RES_E_INTERNAL_FAIL_TIMEOUT, "IPC timeout")
                )
            elif kind == "server":
                self.server_down = True
            else:
                raise OmsError(f"disconnect kind must be 'ipc', 'hang' or 'server', not {kind!r}")

    def reconnect(self) -> None:
        """Bring the terminal and its server back (after an IPC loss, initialize() is still due)."""
        with self._lock:
            self.ipc_down = False
            self.server_down = False

    def drop_next_ack(self, count: int = 1) -> None:
        """The next `count` order_send calls execute but return None with (-10005, timeout)."""
        with self._lock:
            self.drop_acks += count

    def reject_next(self, retcode: int, count: int = 1) -> None:
        """The next `count` order_send calls are refused by the server with `retcode`."""
        with self._lock:
            self.rejects.extend([retcode] * count)

    def set_algo_trading(self, enabled: bool) -> None:
        """The terminal's Algo Trading button: off gives 10027 on every order_send."""
        with self._lock:
            self.algo_trading = enabled

    def fill_order(
        self, ticket: int, price: float | None = None, volume: float | None = None
    ) -> int:
        """Fill a working order now (while nobody is looking); returns the deal ticket."""
        with self._lock:
            if ticket not in self._server.ledger.orders:
                raise OmsError(f"order {ticket} is not working; only working orders can be filled")
            try:
                return self._server.ledger.fill_now(ticket, price, volume)
            except ValueError as exc:
                raise OmsError(str(exc)) from exc

    def cancel_order(self, ticket: int) -> None:
        """Cancel a working order from the terminal side; it goes to history CANCELED."""
        with self._lock:
            if ticket not in self._server.ledger.orders:
                raise OmsError(
                    f"order {ticket} is not working; only working orders can be canceled"
                )
            self._server.ledger.cancel_now(ticket)

    def vanish_order(self, ticket: int) -> None:
        """An order the server forgets: gone from open orders and from history."""
        with self._lock:
            try:
                self._server.ledger.vanish(ticket)
            except KeyError:
                raise OmsError(f"order {ticket} is unknown to the simulated server") from None

    def rewrite_comments(self, rewrite: Callable[[str], str] | None) -> None:
        """The broker changes comments of new orders (and so of their deals and positions)."""
        with self._lock:
            self._server.ledger.rewrite_comment = rewrite

    def balance_operation(self, amount: float, comment: str = "") -> int:
        """A deposit (or, negative, a withdrawal) by the broker: a DEAL_TYPE_BALANCE deal."""
        with self._lock:
            return self._server.ledger.balance_deal(amount, comment)

    def manual_trade(self, request: dict[str, object]) -> OrderSendResult:
        """A trade placed by hand in the terminal: magic 0, reason CLIENT, any comment given."""
        with self._lock:
            req = validate_request({**request, "magic": 0})
            outcome = self._server.send(req, reason=C.ORDER_REASON_CLIENT)
            return self._result(outcome, req)
