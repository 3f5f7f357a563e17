"""The package's programs, on one kit (``kit``): nothing in the library imports them.

- ``cli``: the ``aio-assume-role`` command (also ``python -m aio_assume_role``), which
  runs the subcommands ``accounts`` and ``demo``;
- ``accounts``: ``aio-assume-role accounts``, a role checked in every account;
- ``demo``: ``aio-assume-role demo``, the library's story against an embedded endpoint;
- ``sync_cli``: ``python -m aio_assume_role.sync``, aws-assume-role-lib's command line on
  the boto3 path (it imports no aiobotocore, aiohttp or aiofiles).

Exit codes: one set for every program, the kit's ``EXIT_*`` constants, documented once,
in the CLI guide's table (``docs/how-to/cli.md``, "Exit codes").
"""

__all__: list[str] = []
