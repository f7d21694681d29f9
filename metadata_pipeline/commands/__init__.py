"""One module per command: ``register(subparsers)`` declares it, ``run(args)`` does it."""
