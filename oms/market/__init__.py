"""Market order book (L2 and L3), microstructure signals and queue position.

Prices are integer ticks and sizes integers; conversion from broker units happens in
`oms.market.feeds`. Time always comes in as nanosecond arguments; nothing here reads a clock.
Import the modules directly (`oms.market.book`, `.l3`, `.batch`, `.rolling`, `.signals`,
`.queue`): the package itself imports nothing, so reading the settings stays cheap.
"""
