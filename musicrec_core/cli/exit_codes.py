"""Exit statuses of the ``musicrec`` command, shared by :func:`musicrec_core.cli.main` and
the sub-command handlers (which return them)."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
