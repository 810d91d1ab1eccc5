"""Commands a strategy or an operator sends: validated here, at the edge, never on replay.

Use `PlaceOrder.parse(data)` (and the same on the other commands) at the boundary: every
problem, whether a wrong type or a rule below, comes back as one `CommandError` that names
the fields. Volume steps, minimum volumes and stop levels are the broker's business; sign,
required prices, expiry and the side of SL/TP relative to the price are ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oms.domain.enums import Filling, OrderType, Side, TimeInForce
from oms.domain.errors import CommandError, IdentifierError
from oms.domain.ids import (
    MAX_ACCOUNT_CODE,
    MAX_COMMENT_LENGTH,
    MAX_STRATEGY_CODE,
    check_code,
    parse_client_order_id,
)

UINT64_MAX = 2**64 - 1


class _Command(BaseModel):
    """Shared configuration and the parse-at-the-edge entry point."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    command_name: ClassVar[str] = "command"

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """Validate untrusted input; raise `CommandError` naming every bad field."""
        try:
            return cls.model_validate(data if type(data) is dict else dict(data))
        except ValidationError as exc:
            problems = [
                (".".join(str(part) for part in err["loc"]) or "command", err["msg"])
                for err in exc.errors()
            ]
            raise CommandError(cls.command_name, problems) from None

    def _raise(self, problems: list[tuple[str, str]]) -> Self:
        """Raise the collected rule violations, or return self when there are none."""
        if problems:
            raise CommandError(self.command_name, problems)
        return self


def _check_client_order_id(value: str) -> str:
    """Reject ids that are not ours before they reach the journal."""
    try:
        parse_client_order_id(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None
    return value


class PlaceOrder(_Command):
    """Place a new order. Prices are in the symbol's quote; times are epoch nanoseconds (UTC)."""

    command_name: ClassVar[str] = "place"

    account: str
    strategy: str
    symbol: str = Field(min_length=1, max_length=MAX_COMMENT_LENGTH)
    side: Side
    order_type: OrderType
    volume: float = Field(gt=0)
    price: float | None = Field(default=None, gt=0)
    stop_limit_price: float | None = Field(default=None, gt=0)
    sl: float | None = Field(default=None, gt=0)
    tp: float | None = Field(default=None, gt=0)
    time_in_force: TimeInForce = TimeInForce.GTC
    expiry_ns: int | None = Field(default=None, gt=0)
    filling: Filling = Filling.FOK
    deviation: int = Field(default=0, ge=0, le=UINT64_MAX)
    position_id: int | None = Field(default=None, gt=0, le=UINT64_MAX)
    position_by_id: int | None = Field(default=None, gt=0, le=UINT64_MAX)

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        try:
            return check_code("account", value, MAX_ACCOUNT_CODE)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        try:
            return check_code("strategy", value, MAX_STRATEGY_CODE)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        if value.split() != [value]:  # any whitespace splits it or strips off
            raise ValueError("must not contain whitespace")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Self:
        return self._raise(place_problems(self))


def place_problems(cmd: PlaceOrder) -> list[tuple[str, str]]:
    """Every rule of ours the place command breaks, as (field, reason) pairs."""
    problems: list[tuple[str, str]] = []
    kind = cmd.order_type
    if kind is not OrderType.MARKET and cmd.price is None:
        problems.append(("price", f"required for {kind.value} orders"))
    if kind is OrderType.STOP_LIMIT:
        if cmd.stop_limit_price is None:
            problems.append(("stop_limit_price", "required for stop_limit orders"))
        elif cmd.price is not None:
            # The stop price triggers a limit order that must rest on the passive side of it.
            if cmd.side is Side.BUY and cmd.stop_limit_price > cmd.price:
                problems.append(
                    ("stop_limit_price", f"{cmd.stop_limit_price} must be <= stop price "
                     f"{cmd.price} for a buy stop_limit")
                )
            if cmd.side is Side.SELL and cmd.stop_limit_price < cmd.price:
                problems.append(
                    ("stop_limit_price", f"{cmd.stop_limit_price} must be >= stop price "
                     f"{cmd.price} for a sell stop_limit")
                )
    elif cmd.stop_limit_price is not None:
        problems.append(("stop_limit_price", f"only for stop_limit orders, not {kind.value}"))
    if cmd.time_in_force is TimeInForce.SPECIFIED and cmd.expiry_ns is None:
        problems.append(("expiry_ns", "required when time_in_force is specified"))
    if cmd.time_in_force is not TimeInForce.SPECIFIED and cmd.expiry_ns is not None:
        problems.append(("expiry_ns", f"only with time_in_force specified, not "
                         f"{cmd.time_in_force.value}"))
    if cmd.filling is Filling.BOC and kind not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        problems.append(("filling", f"boc is for limit and stop_limit orders, not {kind.value}"))
    if kind is OrderType.MARKET and cmd.time_in_force is not TimeInForce.GTC:
        problems.append(("time_in_force", "market orders take gtc only"))
    if cmd.position_by_id is not None:
        if cmd.position_id is None:
            problems.append(("position_by_id", "a close-by needs position_id as well"))
        elif cmd.position_by_id == cmd.position_id:
            problems.append(("position_by_id", "must differ from position_id"))
        if kind is not OrderType.MARKET:
            problems.append(("order_type", "a close-by is a market order"))
    reference = cmd.stop_limit_price if kind is OrderType.STOP_LIMIT else cmd.price
    if reference is not None:
        problems.extend(stops_problems(cmd.side, reference, cmd.sl, cmd.tp))
    return problems


def stops_problems(
    side: Side, reference: float, sl: float | None, tp: float | None
) -> list[tuple[str, str]]:
    """SL must be on the losing side of the entry and TP on the winning side."""
    problems: list[tuple[str, str]] = []
    if side is Side.BUY:
        if sl and sl >= reference:
            problems.append(("sl", f"{sl} must be below the entry price {reference} for a buy"))
        if tp and tp <= reference:
            problems.append(("tp", f"{tp} must be above the entry price {reference} for a buy"))
    else:
        if sl and sl <= reference:
            problems.append(("sl", f"{sl} must be above the entry price {reference} for a sell"))
        if tp and tp >= reference:
            problems.append(("tp", f"{tp} must be below the entry price {reference} for a sell"))
    return problems


class ModifyOrder(_Command):
    """Change a working order. A field left None keeps its value; sl or tp 0.0 removes it."""

    command_name: ClassVar[str] = "modify"

    client_order_id: str
    price: float | None = Field(default=None, gt=0)
    stop_limit_price: float | None = Field(default=None, gt=0)
    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)
    expiry_ns: int | None = Field(default=None, gt=0)

    _coid = field_validator("client_order_id")(_check_client_order_id)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        fields = (self.price, self.stop_limit_price, self.sl, self.tp, self.expiry_ns)
        if all(value is None for value in fields):
            return self._raise(
                [("command", "nothing to change: give price, stop_limit_price, sl, tp or "
                  "expiry_ns")]
            )
        return self


class CancelOrder(_Command):
    """Cancel a working order (MT5 TRADE_ACTION_REMOVE)."""

    command_name: ClassVar[str] = "cancel"

    client_order_id: str

    _coid = field_validator("client_order_id")(_check_client_order_id)

