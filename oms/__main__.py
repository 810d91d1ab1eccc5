"""Allow `python -m oms` where the console script is not on PATH (subprocess tests, CI)."""

from oms.cli.main import run

run()
