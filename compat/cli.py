"""The ``ghc-shim`` console script: core's commands plus ``migrate-check``.

Responsible for: extending ``core.cli.build_parser()`` with the ``migrate-check`` subcommand
(which belongs to the compat layer: ``core`` must never import ``compat``) and delegating
every other command to ``core.cli.run``. Must not: duplicate any of core's commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core import cli as core_cli

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = core_cli.build_parser()
    # argparse offers no public way to reach an existing subparsers action.
    subparsers = next(
        action for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    check = subparsers.add_parser(
        "migrate-check",
        help="report every legacy compat.ghc_api call (exit status 1 while any remain)",
        description="Static report of every legacy GHC-API call in Python files that import "
        "compat.ghc_api (any spelling) or an --alias name: file:line, name, warning class, "
        "replacement and migration_guide.md anchor.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    check.add_argument(
        "--alias", action="append", default=[], metavar="NAME",
        help="also treat 'import NAME' as the facade (as pytest's --ghc-shim-alias does)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "migrate-check":
        from compat import migrate_check

        return migrate_check.run(args.paths, args.alias)
    return core_cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
