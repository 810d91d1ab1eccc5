"""Per-call delay distributions for the simulated terminal (none by default)."""

from __future__ import annotations

import random
from collections.abc import Callable

Latency = Callable[[], float]


def constant(seconds: float) -> Latency:
    """Every call takes the same extra time."""
    return lambda: seconds


def uniform(low: float, high: float, seed: int = 0) -> Latency:
    """Delays drawn uniformly from [low, high] seconds, reproducibly."""
    rng = random.Random(seed)
    return lambda: rng.uniform(low, high)


def lognormal(median: float, sigma: float, seed: int = 0) -> Latency:
    """Right-skewed delays around `median` seconds, like a real network round trip."""
    import math

    rng = random.Random(seed)
    mu = math.log(median)
    return lambda: rng.lognormvariate(mu, sigma)
