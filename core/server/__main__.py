"""``python -m core.server``: run the server (the same as ``ghc-shim serve``)."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
