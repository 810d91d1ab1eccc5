"""Building frozen slots dataclasses on the order path without the frozen guard's cost.

A frozen dataclass's `__init__` stores every field through `object.__setattr__`, about
90 ns a field: a few records per order add up to microseconds. `builder(cls)` returns a
positional constructor that stores the fields into an unfrozen twin with the very same
slots (plain attribute stores) and then assigns the finished object its real class, which
CPython allows because both layouts are identical. The result is an ordinary instance of
`cls`: equal, hashable and immutable as usual, and `__post_init__` (its checks) still runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A constructor taking every field of `cls` positionally, in declaration order.

    `cls` must be a frozen dataclass with `slots=True` whose fields are all its own (no
    dataclass base with slots): only then does an unfrozen twin share its layout.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    if cls.__bases__ != (object,) or tuple(cls.__dict__.get("__slots__", ())) != names:
        raise TypeError(f"{cls.__name__} needs slots=True and no base class")
    if any(name.endswith("_") for name in names):  # the builder's own names end in _
        raise TypeError(f"{cls.__name__} has a field name ending in _")
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": names})
    post_init = "    obj_.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    source = (
        f"def build({', '.join(names)}):\n"
        "    obj_ = new_(twin_)\n"
        + "".join(f"    obj_.{name} = {name}\n" for name in names)
        + "    obj_.__class__ = cls_\n"
        + post_init
        + "    return obj_\n"
    )
    namespace: dict[str, Any] = {"new_": object.__new__, "twin_": twin, "cls_": cls}
    exec(source, namespace)  # the source holds field names only
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = f"builder({cls.__name__})"
    return build
