"""The ``ghc-shim`` command line: ``serve``, ``eval`` and ``repl``.

Responsible for: parsing arguments, running the server or a small client, and printing
results and errors for people. Must not: hold any logic the library does not offer
(everything here is a call to ``core.server`` or ``core.client``). ``compat.cli`` adds
``migrate-check`` on top of this parser.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main", "run"]

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghc-shim",
        description="Run Haskell through remote GHCi sessions (the GHC-API shim).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--listen", default="stdio",
                       help="stdio (default), unix:PATH or tcp:HOST:PORT")
    serve.add_argument("--token-file", help="file holding the token clients must present")
    serve.add_argument("--ghc", help="GHC executable (default: $GHC_SHIM_GHC or ghc on PATH)")
    serve.add_argument("--max-sessions", type=int, default=64)
    serve.add_argument("--pool", type=int, default=1, help="warm GHCi processes kept ready")
    serve.add_argument("--timeout", type=float, default=120.0,
                       help="default time limit per request, in seconds")
    serve.add_argument("--heap-mb", type=int, default=2048,
                       help="address-space limit of each session's interpreter, 40%% of "
                            "it its heap (0: none)")
    serve.add_argument("--cpu-seconds", type=int, default=0,
                       help="CPU-time limit of each session's interpreter (0: none)")
    serve.add_argument("--idle-timeout", type=float, default=3600.0,
                       help="close sessions idle this many seconds (0: never)")
    serve.add_argument("--log-level", default=os.environ.get("GHC_SHIM_LOG_LEVEL", "WARNING"))
    serve.add_argument("--log-file", help="log here instead of stderr")

    ev = sub.add_parser("eval", help="evaluate one expression in a fresh session")
    ev.add_argument("expr")
    ev.add_argument("--server", help="server address (default: $GHC_SHIM_SERVER or private)")
    ev.add_argument("--timeout", type=float)

    repl = sub.add_parser("repl", help="an interactive prompt over the protocol")
    repl.add_argument("--server", help="server address (default: $GHC_SHIM_SERVER or private)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "repl":
        return _repl(args)
    raise SystemExit(f"unknown command {args.command!r}")


def _serve(args: argparse.Namespace) -> int:
    from core.server import ServerConfig, parse_listen, serve_forever

    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(level=args.log_level.upper(), handlers=[handler],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    token_file = args.token_file or os.environ.get("GHC_SHIM_TOKEN_FILE")
    token = Path(token_file).read_text().strip() if token_file else None
    try:
        address = parse_listen(args.listen)
    except ValueError as exc:
        print(f"ghc-shim serve: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(
        ghc=args.ghc,
        max_sessions=args.max_sessions,
        pool_size=args.pool,
        timeout=args.timeout,
        heap_mb=args.heap_mb or None,
        cpu_seconds=args.cpu_seconds or None,
        idle_timeout=args.idle_timeout or None,
        token=token,
    )
    return serve_forever(config, address)


def _eval(args: argparse.Namespace) -> int:
    from core.client import RequestError, ShimError, connect

    try:
        with connect(args.server) as client, client.open_session() as session:
            def forward(stream: str, text: str) -> None:
                (sys.stdout if stream == "stdout" else sys.stderr).write(text)

            value = session.eval(args.expr, timeout=args.timeout, on_output=forward)
            shown = value.show if value.show is not None else "<no Show instance>"
            print(f"{shown} :: {value.type}")
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ShimError as exc:
        print(f"ghc-shim: {exc}", file=sys.stderr)
        return 2
    return 0


def _repl(args: argparse.Namespace) -> int:
    from core.client import connect
    from core.client.repl import Repl

    with connect(args.server) as client, client.open_session() as session:
        return Repl(session).loop()
