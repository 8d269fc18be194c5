"""``python -m melgenre``: the same as the ``melgenre`` command."""

import sys

from melgenre.cli import main

if __name__ == "__main__":
    sys.exit(main())
