"""The engine: order manager, router, status listener, recovery, projector and runtime loop."""

from oms.engine.app import Engine
from oms.engine.errors import EngineError, NoRouteError, NotReadyError, UnknownOrderError
from oms.engine.listener import PollReport, StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery, RecoveryError, RecoveryReport
from oms.engine.router import OrderRouter, Route
from oms.engine.runtime import run
from oms.engine.updates import OrderUpdate, Subscription

__all__ = [
    "Engine",
    "EngineError",
    "NoRouteError",
    "NotReadyError",
    "OrderManager",
    "OrderRouter",
    "OrderUpdate",
    "PollReport",
    "Projector",
    "Recovery",
    "RecoveryError",
    "RecoveryReport",
    "Route",
    "StatusListener",
    "Subscription",
    "UnknownOrderError",
    "run",
]
