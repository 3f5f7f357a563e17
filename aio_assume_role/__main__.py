"""``python -m aio_assume_role ROLE_ARN [...]``: see ``aio_assume_role.programs.cli``."""

from .programs.cli import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m aio_assume_role"))
