"""``python -m skick``: the same as the ``skick`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
