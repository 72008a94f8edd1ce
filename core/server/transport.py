"""Listeners that feed connections to a ``Server``: stdio, Unix sockets and TCP.

Responsible for: parsing a listen address, creating the listener with its security rules (a
Unix socket is created with mode 0600; TCP refuses to start without a token), serving until
a signal or the end of stdio, and closing the server so that no GHCi outlives it. Must not:
write anything but protocol frames to the stdout that carries them — logs go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys

from core.protocol.addresses import Address, parse_address
from core.server.ghci_process import GhciStartError
from core.server.server import Server, ServerConfig

__all__ = ["parse_listen", "serve", "serve_forever"]

log = logging.getLogger(__name__)


def parse_listen(text: str) -> Address:
    """``stdio``, ``unix:PATH`` or ``tcp:HOST:PORT`` (also ``tcp://HOST:PORT``).

    Raises:
        ValueError: anything else.
    """
    address = parse_address(text)
    if address.kind == "embedded":
        raise ValueError("'embedded' is a client address; the server listens on stdio")
    return address


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(
    server: Server, address: Address, ready: asyncio.Future[str] | None = None
) -> None:
    """Start ``server``, listen on ``address`` and serve until cancelled or stdio ends.

    Raises:
        ValueError: TCP without a token.
    """
    if address.kind == "tcp" and server.config.token is None:
        raise ValueError(
            "refusing to listen on TCP without a token (--token-file or GHC_SHIM_TOKEN_FILE)"
        )
    if address.kind == "tcp" and not _is_loopback(address.host):
        log.warning("listening on non-loopback address %s; clients need the token",
                    address.host)
    await server.start()
    try:
        if address.kind == "stdio":
            await _serve_stdio(server, ready)
            return
        if address.kind == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address.path)
            old = os.umask(0o177)  # the socket is created 0600: only its owner may connect
            try:
                listener = await asyncio.start_unix_server(server.serve_connection, address.path)
            finally:
                os.umask(old)
            os.chmod(address.path, 0o600)
            where = f"unix:{address.path}"
        else:
            listener = await asyncio.start_server(
                server.serve_connection, address.host, address.port
            )
            sock = listener.sockets[0]
            host, port = sock.getsockname()[:2]
            where = f"tcp:{host}:{port}"
        log.info("serving on %s (GHC %s)", where, server.ghc_version)
        if ready is not None and not ready.done():
            ready.set_result(where)
        async with listener:
            await listener.serve_forever()
    finally:
        await server.close()
        if address.kind == "unix":
            with contextlib.suppress(OSError):
                os.unlink(address.path)


async def _serve_stdio(server: Server, ready: asyncio.Future[str] | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # The protocol owns fd 1; nothing else may write there (logging goes to stderr).
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    with contextlib.suppress(OSError):
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    if ready is not None and not ready.done():
        ready.set_result("stdio")
    await server.serve_connection(reader, writer)


def serve_forever(config: ServerConfig, address: Address) -> int:
    """Run the server until SIGTERM/SIGINT (or the end of stdio); returns an exit status."""

    async def main() -> None:
        server = Server(config)
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(server, address)

    try:
        asyncio.run(main())
    except ValueError as exc:
        print(f"ghc-shim serve: {exc}", file=sys.stderr)
        return 2
    except (OSError, GhciStartError) as exc:
        print(f"ghc-shim serve: {exc}", file=sys.stderr)
        return 1
    return 0

