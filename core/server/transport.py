"""Listeners that feed connections to a ``Server``: stdio, Unix sockets and TCP.

Responsible for: parsing a listen address, creating the listener with its security rules (a
Unix socket is created with mode 0600; TCP refuses to start without a token), feeding each
connection's bytes to its ``Link`` from an ``asyncio.Protocol``, choosing the event loop
(uvloop), serving until a signal or the end of stdio, and closing the server so that no GHCi
outlives it. Must not:
write anything but protocol frames to the stdout that carries them — logs go to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import cast

from core import __version__
from core.protocol import messages as m
from core.protocol.addresses import Address, parse_address
from core.protocol.connection import RequestRejected, ServerConnection
from core.protocol.errors import GhcUsageError
from core.protocol.framing import END_OF_STREAM, NEED_DATA
from core.server.ghci_process import GhciStartError
from core.server.server import Link, Server, ServerConfig

__all__ = ["event_loop_factory", "parse_listen", "serve", "serve_forever"]

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


class _LinkProtocol(asyncio.Protocol):
    """Feeds one connection's bytes to the server straight from the transport's callback
    (no stream reader and no read task between them: a request costs one callback)."""

    def __init__(self, server: Server, write_transport: asyncio.WriteTransport | None = None,
                 ) -> None:
        self._server = server
        self._write_transport = write_transport
        self._transport: asyncio.BaseTransport | None = None
        self._link: Link | None = None
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        # Not an isinstance check: uvloop's transports do not derive from asyncio's classes.
        out = cast(asyncio.WriteTransport, self._write_transport or transport)
        self._link = self._server.open_link(out.write, out.is_closing)

    def data_received(self, data: bytes) -> None:
        if self._link is not None and not self._link.feed(data):
            self._close()

    def eof_received(self) -> bool:
        if self._link is not None:
            self._link.feed(b"")
        self._close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        task = asyncio.ensure_future(link.finish())
        task.add_done_callback(self._finished)
        self._server.track(task)

    def _finished(self, _task: asyncio.Future[None]) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


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
                listener = await asyncio.get_running_loop().create_unix_server(
                    lambda: _LinkProtocol(server), address.path
                )
            finally:
                os.umask(old)
            os.chmod(address.path, 0o600)
            where = f"unix:{address.path}"
        else:
            listener = await asyncio.get_running_loop().create_server(
                lambda: _LinkProtocol(server), address.host, address.port
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
    # The protocol owns fd 1; nothing else may write there (logging goes to stderr).
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    with contextlib.suppress(OSError):
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    write_transport, _ = await loop.connect_write_pipe(asyncio.Protocol, out)
    protocol = _LinkProtocol(server, write_transport)
    read_transport, _ = await loop.connect_read_pipe(lambda: protocol, sys.stdin)
    if ready is not None and not ready.done():
        ready.set_result("stdio")
    try:
        await protocol.finished
    finally:
        read_transport.close()
        write_transport.close()


def _refuse_stdio_client(reason: str) -> None:
    """Answer the first request on stdin (the client's ``hello``) with ``reason``, as a
    ``ghc_error`` reply, and return (also when stdin ends or the client cannot be answered)."""
    conn = ServerConnection(server_version=__version__, ghc_version="")
    with contextlib.suppress(OSError):
        while data := os.read(sys.stdin.fileno(), 65536):
            conn.receive_data(data)
            while (event := conn.next_event()) is not NEED_DATA:
                if event is END_OF_STREAM:
                    return
                if isinstance(event, RequestRejected):
                    reply = event.data
                else:
                    request = cast(m.Request, event)
                    reply = conn.send(m.Error(id=request.id, code=GhcUsageError.code,
                                              message=reason))
                os.write(sys.stdout.fileno(), reply)
                return


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop the command-line server runs on: uvloop's where it is installed.

    Why: the server's own cost per request is almost all event-loop work (socket and pipe
    callbacks, timers, task steps); libuv's loop does it in C and cut the server's CPU per
    trivial statement by a sixth (bench/PROFILE.md). Everything here uses only the
    portable ``asyncio`` API, so the standard loop works the same (in-process embedders
    and the tests' own loops use it).
    """
    try:
        import uvloop
    except ImportError:  # a platform without wheels: the standard loop
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def serve_forever(config: ServerConfig, address: Address) -> int:
    """Run the server until SIGTERM/SIGINT (or the end of stdio); returns an exit status.

    With session placement on (``pin_sessions``) and two CPUs or more, the process keeps to
    its last usable CPU and tells the server so (``ServerConfig.server_cpu``), which then
    places sessions on the others first: the server wakes at every piece of a session's
    output, and on the session's own CPU that interrupts GHCi's work each time.
    """
    config = _choose_server_cpu(config)

    async def main() -> None:
        server = Server(config)  # it reads the CPUs it may place sessions on: pin after
        if config.server_cpu is not None:
            # This thread; threads started later (the executor's) inherit it.
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {config.server_cpu})
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        ready: asyncio.Future[str] = loop.create_future()
        if address.kind != "stdio":
            # Whatever the log level: with port 0 this is the only way to learn the port.
            ready.add_done_callback(lambda done: done.cancelled() or print(
                f"ghc-shim serve: serving on {done.result()}", file=sys.stderr, flush=True))
        with contextlib.suppress(asyncio.CancelledError):
            await serve(server, address, ready)

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(main())
    except ValueError as exc:
        print(f"ghc-shim serve: {exc}", file=sys.stderr)
        return 2
    except (OSError, GhciStartError) as exc:
        print(f"ghc-shim serve: {exc}", file=sys.stderr)
        if isinstance(exc, GhciStartError) and address.kind == "stdio":
            # The one client of a stdio server (an embedded one) learns why, instead of
            # seeing the connection close.
            _refuse_stdio_client(str(exc))
        return 1
    return 0


def _choose_server_cpu(config: ServerConfig) -> ServerConfig:
    if not config.pin_sessions or config.server_cpu is not None:
        return config
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return config
    return dataclasses.replace(config, server_cpu=cpus[-1]) if len(cpus) >= 2 else config
