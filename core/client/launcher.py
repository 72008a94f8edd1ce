"""Reaching a server: the embedded private server, a Unix socket, or TCP with a token.

Responsible for: reading ``GHC_SHIM_SERVER`` / ``GHC_SHIM_TOKEN`` / ``GHC_SHIM_TOKEN_FILE``,
starting the private server (``python -m core.server --listen stdio``) when no address is
set, and making sure that process is stopped when the client closes or the program exits.
Must not: speak the protocol (``channel`` does).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from core.client.channel import RawIO, fd_io
from core.protocol.addresses import Address, parse_address
from core.protocol.errors import ConnectionLostError

__all__ = [
    "Address",
    "EmbeddedServer",
    "ServerProcess",
    "open_async",
    "open_sync",
    "resolve_address",
]


def _token_from_env() -> str | None:
    token = os.environ.get("GHC_SHIM_TOKEN")
    if token:
        return token
    path = os.environ.get("GHC_SHIM_TOKEN_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


def resolve_address(address: str | None = None) -> Address:
    """``address``, else ``$GHC_SHIM_SERVER``, else the embedded private server.

    Raises:
        ValueError: an address of no known form.
    """
    text = address if address is not None else os.environ.get("GHC_SHIM_SERVER", "")
    if not text.strip():
        return Address("embedded")
    try:
        parsed = parse_address(text)
    except ValueError as exc:
        raise ValueError(f"GHC_SHIM_SERVER: {exc}") from None
    if parsed.kind == "stdio":
        raise ValueError("GHC_SHIM_SERVER: 'stdio' is a server address; a client uses "
                         "'embedded' (or nothing) to start its own server")
    if parsed.kind == "tcp":
        return Address("tcp", host=parsed.host, port=parsed.port, token=_token_from_env())
    return parsed


class EmbeddedServer:
    """A private server process over pipes; stopped on close, on exit, or when collected."""

    _live: ClassVar[weakref.WeakSet[EmbeddedServer]] = weakref.WeakSet()

    def __init__(self, extra_args: tuple[str, ...] = ()) -> None:
        env = dict(os.environ)
        # The child must import this very package, wherever the caller imported it from.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.server", "--listen", "stdio", *extra_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # its logs go where ours go
            env=env,
            close_fds=True,
        )
        self._lock = threading.Lock()
        self._closed = False
        EmbeddedServer._live.add(self)
        self._finalizer = weakref.finalize(self, _stop_process, self.proc)

    def raw_io(self) -> RawIO:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return fd_io(self.proc.stdout.fileno(), self.proc.stdin.fileno(), self.close)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    # Closing its stdin ends the server's only connection: it closes every session and
    # exits. SIGTERM, then SIGKILL, if it does not.
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    try:
        proc.wait(timeout=10)
        return
    except subprocess.TimeoutExpired:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ServerProcess:
    """A ``ghc-shim serve`` on a private Unix socket, for a test suite or a benchmark.

    Started as ``python -m core.server`` (no console script on ``PATH`` needed) with
    ``extra_args``; the constructor returns once the socket accepts connections. ``close``
    stops it (SIGTERM, then SIGKILL) and removes its directory.

    Raises:
        ConnectionLostError: it exited or did not listen within ``start_timeout`` seconds.
    """

    def __init__(self, *extra_args: str, start_timeout: float = 120.0,
                 stderr: int | None = None, python_args: Sequence[str] | None = None) -> None:
        import tempfile
        import time

        self.directory = tempfile.mkdtemp(prefix="ghc-shim-server-")
        self.path = os.path.join(self.directory, "server.sock")
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        # ``python_args``: run ``python *python_args PATH`` instead, a program that serves on
        # the socket PATH (for settings the command line does not offer).
        argv = (
            [sys.executable, *python_args, self.path]
            if python_args is not None
            else [sys.executable, "-m", "core.server", "--listen", f"unix:{self.path}",
                  *extra_args]
        )
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        deadline = time.monotonic() + start_timeout
        while not self._accepts():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                status = self.proc.returncode
                self.close()
                raise ConnectionLostError(f"the server did not start (exit status {status})")
            time.sleep(0.02)

    @property
    def address(self) -> str:
        return f"unix:{self.path}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _accepts(self) -> bool:
        if not os.path.exists(self.path):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.path)
            except OSError:
                return False
        return True

    def close(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@atexit.register
def _stop_all_embedded() -> None:
    for server in list(EmbeddedServer._live):
        server.close()


def open_sync(address: Address) -> tuple[RawIO, EmbeddedServer | None]:
    """Blocking byte I/O to the server at ``address`` (starting it if embedded).

    Raises:
        ConnectionLostError: the server cannot be reached.
    """
    if address.kind == "embedded":
        server = EmbeddedServer()
        return server.raw_io(), server
    try:
        if address.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(address.path)
        else:
            sock = socket.create_connection((address.host, address.port), timeout=30)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        raise ConnectionLostError(f"cannot reach the server at {address}: {exc}") from exc

    def close() -> None:
        with contextlib.suppress(OSError):
            sock.close()

    return RawIO(read=sock.recv, write=sock.sendall, close=close), None


async def open_async(
    address: Address,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, EmbeddedServer | None,
           asyncio.BaseTransport | None]:
    """asyncio streams to the server at ``address`` (starting it if embedded), and the read
    transport that must be closed with them when the streams are pipes."""
    loop = asyncio.get_running_loop()
    if address.kind == "embedded":
        server = EmbeddedServer()
        assert server.proc.stdout is not None and server.proc.stdin is not None
        reader = asyncio.StreamReader(limit=1 << 20)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), server.proc.stdout
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, server.proc.stdin
        )
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        return reader, writer, server, read_transport
    try:
        if address.kind == "unix":
            reader, writer = await asyncio.open_unix_connection(address.path)
        else:
            reader, writer = await asyncio.open_connection(address.host, address.port)
    except OSError as exc:
        raise ConnectionLostError(f"cannot reach the server at {address}: {exc}") from exc
    return reader, writer, None, None
