"""The pure trading model: enums, commands, events, the Order state machine, positions, risk.

Nothing here does I/O or reads a clock; time always comes in as an argument.
"""
