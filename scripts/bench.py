#!/usr/bin/env python3
"""Benchmarks: `scripts/bench.py NAME [options]` prints one JSON object of figures.

Each benchmark lives in `scripts/benches/NAME.py` with a `main(argv) -> dict` function.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv: list[str]) -> int:
    """Dispatch to the named benchmark and print its figures as JSON."""
    names = sorted(p.stem for p in (ROOT / "scripts" / "benches").glob("[a-z]*.py"))
    if not argv or argv[0] not in names:
        print(f"usage: bench.py {{{'|'.join(names)}}} [--json] [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benches.{argv[0]}")
    figures = module.main(argv[1:])
    print(json.dumps(figures, indent=None if "--json" in argv else 2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
