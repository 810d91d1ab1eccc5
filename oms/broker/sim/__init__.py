"""A simulated MetaTrader 5 terminal for paper trading, backtests and every test.

    from oms.broker.sim import SimulatedTerminal
    mt5 = SimulatedTerminal(seed=1, margin_mode="hedging")   # or "netting"
    mt5.initialize()
    mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                    "type": mt5.ORDER_TYPE_BUY, "type_filling": mt5.ORDER_FILLING_IOC})

Beyond the module surface: `mt5.market` moves prices and the simulated clock (`step`,
`advance`, `set_book`, `trade`, `set_open`, `record`; `books[symbol].position(ticket)` is a
resting order's queue estimate); `mt5.faults` injects failures (`disconnect`,
`reconnect`, `drop_next_ack`, `reject_next`, `fill_order`, `cancel_order`, `manual_trade`,
`rewrite_comments`, `vanish_order`, `balance_operation`, `set_algo_trading`); and
`pacer.Pacer` keeps a served market moving in real time. Constructor options: `symbols`,
`feed`/`replay`, `balance`, `leverage`, `commission_per_lot`, `limit_orders`, `stop_out`,
`login`/`password`/`server`, `latency`, `start_msc`, `step_msc`, `weekend_closed`,
`queue_model` ("conservative", or "probabilistic" with `queue_power`: how resting limit
orders advance in the `oms.market` queue estimate that decides their fills). A `SymbolSpec`'s
`swap_*` fields set the swaps charged at the daily rollover (`swaps`).
"""

from oms.broker.sim.symbols import SymbolSpec, default_symbols
from oms.broker.sim.terminal import SimulatedTerminal

__all__ = ["SimulatedTerminal", "SymbolSpec", "default_symbols"]
