"""``python -m sim.cli``: the same as the ``tokensim`` command."""

import sys

from .app import main

sys.exit(main())
