"""``python -m musicrec_core.cli``: the ``musicrec`` command."""

import sys

from musicrec_core.cli import main

sys.exit(main())
