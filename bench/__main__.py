"""``python -m bench [--quick]``: run every benchmark and print the table (see ``bench.run``)."""

import sys

from bench.run import main

if __name__ == "__main__":
    sys.exit(main())
