"""``python -m micropkg``: see :mod:`micropkg.commands.cli`."""

import sys

from .commands.cli import main

sys.exit(main())
