"""``python -m aio_assume_role.sync ROLE_ARN``: aws-assume-role-lib's command line, on the
boto3 path (``aio_assume_role.programs.sync_cli``)."""

from ..programs.sync_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
