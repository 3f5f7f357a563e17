"""The package's programs, on one kit (``_kit``); the library never imports them.

``cli`` (``aio-assume-role``, with the subcommands ``accounts`` and ``demo``),
``accounts``, ``demo`` and ``sync_cli`` (``python -m aio_assume_role.sync``). Their exit
codes are one set, documented in the CLI guide (``docs/how-to/cli.md``, "Exit codes").
"""

__all__: list[str] = []
