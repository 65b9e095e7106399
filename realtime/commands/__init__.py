"""One module per ``emotrack`` subcommand; each exposes ``register(subparsers)``.

A module's ``register`` adds its parser and sets ``handler`` to a function
``(args) -> int`` (the exit code).  Heavy imports (torch, Qt, train/) happen
inside handlers, so ``emotrack --help`` and ``emotrack devices`` start fast.
"""
