"""The engine: order manager, router, status listener, recovery and the runtime loop."""
