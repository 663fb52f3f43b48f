"""``python -m micropkg``: see :mod:`micropkg._cli`."""

import sys

from ._cli import main

sys.exit(main())
