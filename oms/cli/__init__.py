"""The `oms` command line: typer commands and rich renderers, no domain logic of their own."""
