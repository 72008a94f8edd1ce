"""The explicit asyncio client: ``AsyncClient`` and ``AsyncSession``.

Responsible for: the same operations as ``core.client.session`` as coroutines, over one
asyncio connection (concurrent requests on different sessions run in parallel). Must not:
build or parse messages itself (``plans`` does).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from core.client import plans
from core.client.channel import AsyncChannel, OutputHandler
from core.client.launcher import Address, EmbeddedServer, open_async, resolve_address
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

__all__ = ["AsyncClient", "AsyncSession", "aconnect"]

T = TypeVar("T")


async def aconnect(address: str | None = None, *, client_name: str = "core.client.aio"
                   ) -> AsyncClient:
    """Connect (``GHC_SHIM_SERVER`` rules, as ``core.client.connect``)."""
    client = AsyncClient(resolve_address(address))
    await client.start(client_name=client_name)
    return client


class AsyncClient:
    def __init__(self, address: Address) -> None:
        self.address = address
        self._channel: AsyncChannel | None = None
        self._embedded: EmbeddedServer | None = None
        self._read_transport: asyncio.BaseTransport | None = None
        self.server_version = ""
        self.ghc_version = ""
        self.ops: tuple[str, ...] = ()

    async def start(self, *, client_name: str = "core.client.aio") -> None:
        reader, writer, self._embedded, self._read_transport = await open_async(self.address)
        self._channel = AsyncChannel(reader, writer)
        welcome = await self._channel.start(client_name=client_name, token=self.address.token)
        plans.raise_for_error(welcome)
        assert isinstance(welcome, m.Welcome)
        self.server_version = welcome.server_version
        self.ghc_version = welcome.ghc_version
        self.ops = tuple(welcome.ops)

    async def call(self, plan: plans.Plan[T], on_output: OutputHandler | None = None) -> T:
        assert self._channel is not None, "AsyncClient.start() was not awaited"
        return plan.parse(await self._channel.request(plan.build, on_output))

    async def open_session(
        self, *, flags: Sequence[str] = (), libdir: str | None = None,
        timeout: float | None = None, heap_mb: int | None = None,
        output_limit: int | None = None,
    ) -> AsyncSession:
        session_id, warm = await self.call(plans.open_session(
            flags, libdir, timeout, heap_mb, output_limit,
            os.getcwd() if self.address.local else None))
        return AsyncSession(self, session_id, warm=warm)

    async def list_sessions(self) -> list[SessionSummary]:
        return await self.call(plans.list_sessions())

    @property
    def closed(self) -> bool:
        return self._channel is None or self._channel.broken

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        if self._read_transport is not None:
            self._read_transport.close()
            self._read_transport = None
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            await asyncio.get_running_loop().run_in_executor(None, embedded.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncSession:
    """One GHCi session; the coroutine twin of ``core.client.Session``."""

    def __init__(self, client: AsyncClient, session_id: str, *, warm: bool = False) -> None:
        self.client = client
        self.id = session_id
        self.warm = warm
        self._pending_frees: list[str] = []
        self.closed = False

    async def _call(self, plan: plans.Plan[T], on_output: OutputHandler | None = None) -> T:
        frees, self._pending_frees = self._pending_frees, []
        if frees:
            await self.client.call(plans.free_refs(self.id, frees))
        return await self.client.call(plan, on_output)

    def _release(self, name: str) -> None:
        self._pending_frees.append(name)

    async def exec_stmt(
        self, stmt: str, *, source_file: str = "<interactive>", line: int = 1,
        timeout: float | None = None, stdin: str | None = None,
        on_output: Callable[[str, str], None] | None = None,
    ) -> ExecOutcome:
        return await self._call(
            plans.exec_stmt(self.id, stmt, source_file, line, timeout, stdin), on_output
        )

    async def run_decls(self, decls: str, *, source_file: str = "<interactive>", line: int = 1,
                        timeout: float | None = None,
                        on_warning: Callable[[DiagnosticInfo], None] | None = None
                        ) -> list[str]:
        return await self._call(plans.run_decls(self.id, decls, source_file, line, timeout,
                                                on_warning))

    async def eval(self, expr: str, *, timeout: float | None = None,
                   on_output: Callable[[str, str], None] | None = None) -> Value:
        return await self._call(plans.eval_(self.id, expr, timeout), on_output)

    async def compile_expr(self, expr: str, *, timeout: float | None = None) -> RemoteValue:
        name, type_ = await self._call(plans.compile_expr(self.id, expr, timeout))
        return RemoteValue(name, type_, self._release)

    async def free_refs(self, refs: Sequence[RemoteValue | str]) -> None:
        await self._call(plans.free_refs(self.id, refs))

    async def bind_value(self, name: str, value: object, haskell_type: str | None = None
                         ) -> str:
        return await self._call(plans.bind_value(self.id, name, value, haskell_type))

    async def expr_type(self, expr: str, mode: TypeMode = "inst") -> str:
        return await self._call(plans.expr_type(self.id, expr, mode))

    async def type_kind(self, type_: str, *, normalise: bool = False) -> TypeAndKind:
        return await self._call(plans.type_kind(self.id, type_, normalise))

    async def info(self, name: str, *, all_info: bool = False
                   ) -> tuple[str, list[InfoItem]] | None:
        text, items = await self._call(plans.get_info(self.id, name, all_info))
        return (text, items) if items else None

    async def names_in_scope(self, *, rdr: bool = False) -> list[NameRef]:
        return await self._call(plans.names_in_scope(self.id, rdr))

    async def parse_name(self, name: str) -> list[NameRef]:
        return await self._call(plans.parse_name(self.id, name))

    async def bindings(self) -> list[BindingInfo]:
        return await self._call(plans.get_bindings(self.id))

    async def complete(self, prefix: str, *, limit: int = 1000) -> list[str]:
        return await self._call(plans.complete(self.id, prefix, limit))

    async def get_context(self) -> list[Import]:
        return await self._call(plans.get_context(self.id))

    async def set_context(self, imports: Sequence[Import]) -> None:
        await self._call(plans.set_context(self.id, imports))

    async def get_flags(self) -> Flags:
        return await self._call(plans.get_flags(self.id))

    async def set_flags(self, flags: Sequence[str]) -> Flags:
        return await self._call(plans.set_flags(self.id, flags))

    def _abs(self, target: Target) -> Target:
        if target.kind == "file" and self.client.address.local:
            return Target("file", os.path.abspath(target.name), target.allow_object_code)
        return target

    async def set_targets(self, targets: Sequence[Target]) -> None:
        await self._call(plans.set_targets(self.id, [self._abs(t) for t in targets]))

    async def get_targets(self) -> list[Target]:
        return await self._call(plans.get_targets(self.id))

    async def add_target(self, target: Target) -> None:
        await self._call(plans.add_target(self.id, self._abs(target)))

    async def remove_target(self, target: Target) -> None:
        await self._call(plans.remove_target(self.id, self._abs(target)))

    async def load(self, how: Literal["all", "up_to"] = "all", module: str | None = None, *,
                   timeout: float | None = None, restore_context: bool = False,
                   on_output: Callable[[str, str], None] | None = None) -> LoadOutcome:
        """As ``Session.load``."""
        previous = await self.get_context() if restore_context else []
        outcome = await self._call(plans.load(self.id, how, module, timeout), on_output)
        if restore_context and previous:
            keep = plans.context_after_load(previous, outcome)
            try:
                await self.set_context(keep)
            except Exception:
                await self.set_context([i for i in keep if i.kind == "decl"])
        return outcome

    async def module_graph(self) -> tuple[ModuleSummary, ...]:
        return await self._call(plans.module_graph(self.id))

    async def interrupt(self) -> None:
        """Interrupt what runs in this session now (see the blocking ``Session.interrupt``)."""
        channel = self.client._channel
        running = channel.oldest_in_flight(self.id) if channel is not None else None
        if running is not None:
            await self.client.call(plans.interrupt(self.id, running))

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.client.closed:
            await self.client.call(plans.close_session(self.id))

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
