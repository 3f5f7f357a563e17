"""The package's programs, on one kit (``kit``): nothing in the library imports them.

- ``cli``: the ``aio-assume-role`` command (also ``python -m aio_assume_role``), which
  runs the subcommands ``accounts`` and ``demo``;
- ``accounts``: ``aio-assume-role accounts``, a role checked in every account;
- ``demo``: ``aio-assume-role demo``, the library's story against an embedded endpoint;
- ``sync_cli``: ``python -m aio_assume_role.sync``, aws-assume-role-lib's command line on
  the boto3 path (it imports no aiobotocore, aiohttp or aiofiles).

Exit codes, the same for every program (``kit``): 0 success; 1 ``accounts`` ran and a
check failed; 2 bad arguments (or a credential_process recursion, or the demo without
moto); 3 no parent credentials; 4 AssumeRole (or the step, or listing the
organization) failed; 130 Ctrl-C; 143 SIGTERM; 141 stdout closed.
"""

__all__: list[str] = []
