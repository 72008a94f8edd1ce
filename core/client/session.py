"""The explicit blocking client: ``Client`` (a connection) and ``Session`` (one GHCi).

Responsible for: the snake_case API new code uses and the compat facade is built on, one
method per protocol operation; freeing remote values in batches; absolute paths for local
servers. Must not: build or parse messages itself (``plans`` does) or know transports
(``launcher``, ``channel``). Both classes are thread-safe and context managers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from core.client import plans
from core.client.channel import OutputHandler, SyncChannel
from core.client.launcher import Address, open_sync, resolve_address
from core.client.plans import TypeMode
from core.client.results import (
    BindingInfo,
    ExecOutcome,
    Flags,
    Import,
    InfoItem,
    LoadOutcome,
    ModuleSummary,
    NameRef,
    RemoteValue,
    SessionSummary,
    Target,
    TypeAndKind,
    Value,
)
from core.protocol import messages as m
from core.protocol.errors import DiagnosticInfo

__all__ = ["Client", "Session", "connect"]

T = TypeVar("T")


def connect(address: str | None = None, *, client_name: str = "core.client") -> Client:
    """Connect to a server: ``address``, else ``$GHC_SHIM_SERVER``, else a private one.

    Raises:
        ConnectionLostError: the server cannot be reached or started.
        RequestError: the handshake was refused (version mismatch, bad token).
    """
    return Client(resolve_address(address), client_name=client_name)


class Client:
    """One connection to a server; opens sessions."""

    def __init__(self, address: Address, *, client_name: str = "core.client") -> None:
        self.address = address
        io, self._embedded = open_sync(address)
        try:
            self._channel = SyncChannel(io, client_name=client_name, token=address.token)
            plans.raise_for_error(self._channel.welcome)
        except BaseException:
            io.close()
            raise
        welcome = self._channel.welcome
        assert isinstance(welcome, m.Welcome)
        self.server_version = welcome.server_version
        self.ghc_version = welcome.ghc_version
        self.ops = tuple(welcome.ops)
        self._closed = False

    def call(self, plan: plans.Plan[T], on_output: OutputHandler | None = None) -> T:
        """Carry one plan to the server and return its result (raises its error)."""
        return plan.parse(self._channel.request(plan.build, on_output))

    def open_session(
        self,
        *,
        flags: Sequence[str] = (),
        libdir: str | None = None,
        timeout: float | None = None,
        heap_mb: int | None = None,
        output_limit: int | None = None,
    ) -> Session:
        """Open a session (from the server's warm pool when the options allow).

        Raises:
            SessionLimitError: the server runs its maximum number of sessions.
            GhcUsageError: bad flags, or an option out of range (``output_limit`` below
                1024, ``heap_mb`` below 16).
        """
        session_id, warm = self.call(plans.open_session(
            flags, libdir, timeout, heap_mb, output_limit,
            os.getcwd() if self.address.local else None))
        return Session(self, session_id, warm=warm)

    def list_sessions(self) -> list[SessionSummary]:
        return self.call(plans.list_sessions())

    @property
    def closed(self) -> bool:
        return self._closed or self._channel.broken

    def close(self) -> None:
        """Close the connection (its sessions close with it) and a private server."""
        if self._closed:
            return
        self._closed = True
        self._channel.close()
        if self._embedded is not None:
            self._embedded.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session:
    """One GHCi session on the server. Methods mirror the GHC API's interactive operations."""

    def __init__(self, client: Client, session_id: str, *, warm: bool = False) -> None:
        self.client = client
        self.id = session_id
        self.warm = warm
        self._pending_frees: list[str] = []
        self._frees_lock = threading.Lock()
        self.closed = False

    def _call(self, plan: plans.Plan[T], on_output: OutputHandler | None = None) -> T:
        with self._frees_lock:
            frees, self._pending_frees = self._pending_frees, []
        if frees:
            # Frees of collected references ride along before the next request, as GHC
            # batches ForeignRef frees into its next iserv call.
            self.client.call(plans.free_refs(self.id, frees))
        return self.client.call(plan, on_output)

    def _release(self, name: str) -> None:
        with self._frees_lock:
            self._pending_frees.append(name)

    def _path(self, path: str) -> str:
        return os.path.abspath(path) if self.client.address.local else path

    # --- statements and declarations

    def exec_stmt(
        self,
        stmt: str,
        *,
        source_file: str = "<interactive>",
        line: int = 1,
        timeout: float | None = None,
        stdin: str | None = None,
        on_output: Callable[[str, str], None] | None = None,
    ) -> ExecOutcome:
        """Run a statement (expression, ``x <- e``, ``let``); output streams to ``on_output``.

        A Haskell exception is a result (``outcome.exception``), as in GHC's ``execStmt``.

        Raises:
            CompileError: parse or type errors (nothing ran), or text GHCi would treat as a
                colon command.
            SessionDiedError: the interpreter died; the session was restarted and replayed.
        """
        return self._call(
            plans.exec_stmt(self.id, stmt, source_file, line, timeout, stdin), on_output
        )

    def run_decls(
        self, decls: str, *, source_file: str = "<interactive>", line: int = 1,
        timeout: float | None = None,
        on_warning: Callable[[DiagnosticInfo], None] | None = None,
    ) -> list[str]:
        """Compile top-level declarations; returns the names they declare. GHC's warnings
        about them (``-Wall``) go to ``on_warning``, if given.

        Raises:
            CompileError: the declarations do not compile.
        """
        return self._call(plans.run_decls(self.id, decls, source_file, line, timeout,
                                          on_warning))

    # --- values

    def eval(self, expr: str, *, timeout: float | None = None,
             on_output: Callable[[str, str], None] | None = None) -> Value:
        """Evaluate ``expr`` fully in the session and copy its value out.

        Raises:
            CompileError: the expression does not type-check or its type is polymorphic.
            EvaluationError: evaluating it threw (``exc.exception`` has type and message).
            TimeoutError_, InterruptedError_: the time limit ran out / it was interrupted.
            OutputLimitError: the value is larger than the server's value limit (48 MiB
                serialized by default; an infinite list): raised once that much of it was
                written, the session unchanged.
        """
        return self._call(plans.eval_(self.id, expr, timeout), on_output)

    def compile_expr(self, expr: str, *, timeout: float | None = None) -> RemoteValue:
        """Keep ``expr``'s value (unevaluated, as GHC does) in the session; a reference."""
        name, type_ = self._call(plans.compile_expr(self.id, expr, timeout))
        return RemoteValue(name, type_, self._release)

    def free_refs(self, refs: Sequence[RemoteValue | str]) -> None:
        self._call(plans.free_refs(self.id, refs))

    def bind_value(self, name: str, value: object, haskell_type: str | None = None) -> str:
        """Bind ``name`` in the session to a copy of a Python value (API table types)."""
        return self._call(plans.bind_value(self.id, name, value, haskell_type))

    # --- types and names

    def expr_type(self, expr: str, mode: TypeMode = "inst") -> str:
        """``:type`` (``inst``), ``:type +v`` (``noinst``) or ``:type +d`` (``default``)."""
        return self._call(plans.expr_type(self.id, expr, mode))

    def type_kind(self, type_: str, *, normalise: bool = False) -> TypeAndKind:
        return self._call(plans.type_kind(self.id, type_, normalise))

    def info(self, name: str, *, all_info: bool = False) -> tuple[str, list[InfoItem]] | None:
        """GHCi's ``:info`` text and its parsed blocks; None when the name is not in scope."""
        text, items = self._call(plans.get_info(self.id, name, all_info))
        return (text, items) if items else None

    def names_in_scope(self, *, rdr: bool = False) -> list[NameRef]:
        return self._call(plans.names_in_scope(self.id, rdr))

    def parse_name(self, name: str) -> list[NameRef]:
        return self._call(plans.parse_name(self.id, name))

    def bindings(self) -> list[BindingInfo]:
        """Prompt bindings, newest first."""
        return self._call(plans.get_bindings(self.id))

    def complete(self, prefix: str, *, limit: int = 1000) -> list[str]:
        return self._call(plans.complete(self.id, prefix, limit))

    # --- context and flags

    def get_context(self) -> list[Import]:
        return self._call(plans.get_context(self.id))

    def set_context(self, imports: Sequence[Import]) -> None:
        """Replace the import context; on error the previous one stays in force."""
        self._call(plans.set_context(self.id, imports))

    def get_flags(self) -> Flags:
        return self._call(plans.get_flags(self.id))

    def set_flags(self, flags: Sequence[str]) -> Flags:
        return self._call(plans.set_flags(self.id, flags))

    # --- modules

    def _abs(self, target: Target) -> Target:
        if target.kind == "file":
            return Target("file", self._path(target.name), target.allow_object_code)
        return target

    def set_targets(self, targets: Sequence[Target]) -> None:
        self._call(plans.set_targets(self.id, [self._abs(t) for t in targets]))

    def get_targets(self) -> list[Target]:
        return self._call(plans.get_targets(self.id))

    def add_target(self, target: Target) -> None:
        self._call(plans.add_target(self.id, self._abs(target)))

    def remove_target(self, target: Target) -> None:
        self._call(plans.remove_target(self.id, self._abs(target)))

    def load(
        self,
        how: Literal["all", "up_to"] = "all",
        module: str | None = None,
        *,
        timeout: float | None = None,
        restore_context: bool = False,
        on_output: Callable[[str, str], None] | None = None,
    ) -> LoadOutcome:
        """Load the targets. As in GHC this resets the import context and prompt bindings;
        ``restore_context=True`` puts the previous context back as GHCi's ``:load`` does
        (dropping modules that are no longer loaded). ``on_output(stream, text)`` gets what
        the program prints while the modules compile (Template Haskell's ``runIO``)."""
        previous = self.get_context() if restore_context else []
        outcome = self._call(plans.load(self.id, how, module, timeout), on_output)
        if restore_context and previous:
            keep = plans.context_after_load(previous, outcome)
            try:
                self.set_context(keep)
            except Exception:
                self.set_context([i for i in keep if i.kind == "decl"])
        return outcome

    def module_graph(self) -> tuple[ModuleSummary, ...]:
        return self._call(plans.module_graph(self.id))

    # --- control

    def interrupt(self) -> None:
        """Interrupt what runs in this session now (safe from any thread).

        Aimed at the oldest request of this session still awaited (the one running): if it
        ends before the interrupt arrives, the interrupt does nothing, and never stops the
        request that follows. Nothing is sent when no request is awaited.
        """
        running = self.client._channel.oldest_in_flight(self.id)
        if running is not None:
            self.client.call(plans.interrupt(self.id, running))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.client.closed:
            self.client.call(plans.close_session(self.id))

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
