"""Each client operation as a plan: how to build its request and how to read its reply.

Responsible for: the one place where wire replies become results or exceptions
(``raise_for_error``), shared by the blocking and the asyncio sessions, which only carry plans
over their channels. Must not: perform I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeVar

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
from core.protocol.errors import (
    DiagnosticInfo,
    ErrorDetails,
    ExceptionInfo,
    RemoteProtocolError,
    error_class,
)
from core.protocol.to_haskell import python_to_haskell_forms

__all__ = ["Plan", "raise_for_error", "to_diagnostic"]

T = TypeVar("T")
R = TypeVar("R", bound=m.Reply)


@dataclass(frozen=True, slots=True)
class Plan(Generic[T]):
    build: Callable[[int], m.Request]
    parse: Callable[[m.Reply], T]


def to_diagnostic(d: m.Diagnostic) -> DiagnosticInfo:
    return DiagnosticInfo(
        file=d.file, line=d.line, column=d.column, end_line=d.end_line,
        end_column=d.end_column, severity=d.severity, message=d.message, code=d.code,
    )


def raise_for_error(reply: m.Reply) -> None:
    """Raise the exception an ``error`` reply stands for; do nothing for other replies."""
    if not isinstance(reply, m.Error):
        return
    details = reply.details
    raise error_class(reply.code)(
        reply.message,
        details=ErrorDetails(
            diagnostics=tuple(to_diagnostic(d) for d in details.diagnostics),
            exception=(
                ExceptionInfo(details.exception.type, details.exception.message)
                if details.exception
                else None
            ),
            replayed=tuple(details.replayed),
            problems=tuple(details.problems),
            output=details.output,
        ),
        request_id=reply.id,
    )


def _expect(kind: type[R]) -> Callable[[m.Reply], R]:
    def check(reply: m.Reply) -> R:
        raise_for_error(reply)
        if not isinstance(reply, kind):
            raise RemoteProtocolError(
                f"expected a {kind.model_fields['op'].default!r} reply, got {reply.op!r}"
            )
        return reply

    return check


def _then(kind: type[R], convert: Callable[[R], T]) -> Callable[[m.Reply], T]:
    check = _expect(kind)
    return lambda reply: convert(check(reply))


def _none(reply: m.Reply) -> None:
    _expect(m.Done)(reply)


def to_import(spec: m.ImportSpec) -> Import:
    return Import(
        module=spec.module, kind=spec.kind, qualified=spec.qualified, as_=spec.as_,
        hiding=spec.hiding, names=tuple(spec.names), implicit=spec.implicit,
    )


def from_import(imp: Import) -> m.ImportSpec:
    return m.ImportSpec(
        kind=imp.kind, module=imp.module, qualified=imp.qualified, as_=imp.as_,
        hiding=imp.hiding, names=list(imp.names), implicit=imp.implicit,
    )


def to_target(spec: m.TargetSpec) -> Target:
    return Target(spec.kind, spec.name, spec.allow_object_code)


def from_target(target: Target) -> m.TargetSpec:
    return m.TargetSpec(
        kind=target.kind, name=target.name, allow_object_code=target.allow_object_code
    )


def _flags(reply: m.FlagsResult) -> Flags:
    return Flags(
        tuple(reply.extensions), tuple(reply.flags), tuple(reply.unrecognized),
        tuple(reply.warnings),
    )


def _modules(items: Sequence[m.ModuleInfo]) -> tuple[ModuleSummary, ...]:
    return tuple(ModuleSummary(i.name, i.file, i.interpreted) for i in items)


# ---------------------------------------------------------------------- the plans


def _exec_outcome(reply: m.ExecResult) -> ExecOutcome:
    exc = reply.exception
    return ExecOutcome(
        names=tuple(reply.names),
        exception=ExceptionInfo(exc.type, exc.message) if exc else None,
        allocation=reply.allocation,
        truncated=reply.truncated,
        warnings=tuple(to_diagnostic(d) for d in reply.warnings),
    )


# The parsers of the most frequent requests are built once, not per call.
_PARSE_EXEC: Final = _then(m.ExecResult, _exec_outcome)
_PARSE_TYPE: Final = _then(m.TypeResult, lambda r: r.type)


def exec_stmt(
    session: str, stmt: str, source_file: str, line: int, timeout: float | None,
    stdin: str | None,
) -> Plan[ExecOutcome]:
    return Plan(
        lambda rid: m.ExecStmt(id=rid, session=session, stmt=stmt, source_file=source_file,
                               line=line, timeout=timeout, stdin=stdin),
        _PARSE_EXEC,
    )


def run_decls(session: str, decls: str, source_file: str, line: int,
              timeout: float | None,
              on_warning: Callable[[DiagnosticInfo], None] | None = None) -> Plan[list[str]]:
    def parse(reply: m.DeclsResult) -> list[str]:
        if on_warning is not None:
            for warning in reply.warnings:
                on_warning(to_diagnostic(warning))
        return list(reply.names)

    return Plan(
        lambda rid: m.RunDecls(id=rid, session=session, decls=decls, source_file=source_file,
                               line=line, timeout=timeout),
        _then(m.DeclsResult, parse),
    )


def eval_(session: str, expr: str, timeout: float | None) -> Plan[Value]:
    return Plan(
        lambda rid: m.DynCompileExpr(id=rid, session=session, expr=expr, timeout=timeout),
        _then(m.ValueResult, lambda r: Value(r.type, r.payload)),
    )


def compile_expr(session: str, expr: str, timeout: float | None) -> Plan[tuple[str, str]]:
    return Plan(
        lambda rid: m.CompileExpr(id=rid, session=session, expr=expr, timeout=timeout),
        _then(m.RefResult, lambda r: (r.ref, r.type)),
    )


def free_refs(session: str, refs: Sequence[RemoteValue | str]) -> Plan[None]:
    """Free ``refs``; a ``RemoteValue`` among them will not free itself again when
    collected."""
    names = [r.name if isinstance(r, RemoteValue) else r for r in refs]
    for ref in refs:
        if isinstance(ref, RemoteValue):
            ref._release = None
    return Plan(lambda rid: m.FreeRefs(id=rid, session=session, refs=names), _none)


def bind_value(session: str, name: str, value: object, haskell_type: str | None) -> Plan[str]:
    """Raises ``ValueError`` (before anything is sent) for a value outside the table."""
    forms = python_to_haskell_forms(value, haskell_type)
    return Plan(
        lambda rid: m.BindValue(id=rid, session=session, name=name, expr=forms.expr,
                                type=forms.type, expr_literals=forms.expr_literals,
                                blobs=list(forms.blobs)),
        _then(m.DeclsResult, lambda r: r.names[0] if r.names else name),
    )


TypeMode = Literal["inst", "noinst", "default"]


def expr_type(session: str, expr: str,
              mode: TypeMode) -> Plan[str]:
    return Plan(
        lambda rid: m.ExprType(id=rid, session=session, expr=expr, mode=mode),
        _PARSE_TYPE,
    )


def type_kind(session: str, type_: str, normalise: bool) -> Plan[TypeAndKind]:
    return Plan(
        lambda rid: m.TypeKind(id=rid, session=session, type=type_, normalise=normalise),
        _then(m.KindResult, lambda r: TypeAndKind(r.type, r.kind)),
    )


def get_info(session: str, name: str, all_info: bool) -> Plan[tuple[str, list[InfoItem]]]:
    def parse(reply: m.InfoResult) -> tuple[str, list[InfoItem]]:
        return reply.text, [
            InfoItem(i.text, i.thing, i.defined_in, i.fixity, tuple(i.instances))
            for i in reply.items
        ]

    return Plan(
        lambda rid: m.GetInfo(id=rid, session=session, name=name, all_info=all_info),
        _then(m.InfoResult, parse),
    )


def names_in_scope(session: str, rdr: bool) -> Plan[list[NameRef]]:
    return Plan(
        lambda rid: m.NamesInScope(id=rid, session=session, rdr=rdr),
        _then(m.NamesResult, lambda r: [NameRef(n.name, n.module) for n in r.names]),
    )


def parse_name(session: str, name: str) -> Plan[list[NameRef]]:
    return Plan(
        lambda rid: m.ParseName(id=rid, session=session, name=name),
        _then(m.NamesResult, lambda r: [NameRef(n.name, n.module) for n in r.names]),
    )


def get_bindings(session: str) -> Plan[list[BindingInfo]]:
    return Plan(
        lambda rid: m.GetBindings(id=rid, session=session),
        _then(m.BindingsResult, lambda r: [BindingInfo(b.name, b.type) for b in r.bindings]),
    )


def get_context(session: str) -> Plan[list[Import]]:
    return Plan(
        lambda rid: m.GetContext(id=rid, session=session),
        _then(m.ContextResult, lambda r: [to_import(i) for i in r.imports]),
    )


def set_context(session: str, imports: Sequence[Import]) -> Plan[None]:
    specs = [from_import(i) for i in imports]
    return Plan(lambda rid: m.SetContext(id=rid, session=session, imports=specs), _none)


def get_flags(session: str) -> Plan[Flags]:
    return Plan(lambda rid: m.GetFlags(id=rid, session=session), _then(m.FlagsResult, _flags))


def set_flags(session: str, flags: Sequence[str]) -> Plan[Flags]:
    return Plan(
        lambda rid: m.SetFlags(id=rid, session=session, flags=list(flags)),
        _then(m.FlagsResult, _flags),
    )


def set_targets(session: str, targets: Sequence[Target]) -> Plan[None]:
    specs = [from_target(t) for t in targets]
    return Plan(lambda rid: m.SetTargets(id=rid, session=session, targets=specs), _none)


def get_targets(session: str) -> Plan[list[Target]]:
    return Plan(
        lambda rid: m.GetTargets(id=rid, session=session),
        _then(m.TargetsResult, lambda r: [to_target(t) for t in r.targets]),
    )


def add_target(session: str, target: Target) -> Plan[None]:
    spec = from_target(target)
    return Plan(lambda rid: m.AddTarget(id=rid, session=session, target=spec), _none)


def remove_target(session: str, target: Target) -> Plan[None]:
    spec = from_target(target)
    return Plan(lambda rid: m.RemoveTarget(id=rid, session=session, target=spec), _none)


def load(session: str, how: Literal["all", "up_to"], module: str | None,
         timeout: float | None) -> Plan[LoadOutcome]:
    def parse(reply: m.LoadResult) -> LoadOutcome:
        return LoadOutcome(
            reply.success,
            tuple(to_diagnostic(d) for d in reply.diagnostics),
            _modules(reply.modules),
        )

    return Plan(
        lambda rid: m.Load(id=rid, session=session, how=how, module=module, timeout=timeout),
        _then(m.LoadResult, parse),
    )


def context_after_load(previous: Sequence[Import], outcome: LoadOutcome) -> list[Import]:
    """The part of the import context before a load that can be put back after it, as
    GHCi's ``:load`` does: declarations, and modules that are still loaded."""
    loaded = {mod.name for mod in outcome.modules}
    return [i for i in previous if i.kind == "decl" or i.module in loaded]


def module_graph(session: str) -> Plan[tuple[ModuleSummary, ...]]:
    return Plan(
        lambda rid: m.ModuleGraph(id=rid, session=session),
        _then(m.ModuleGraphResult, lambda r: _modules(r.modules)),
    )


def complete(session: str, prefix: str, limit: int) -> Plan[list[str]]:
    return Plan(
        lambda rid: m.Complete(id=rid, session=session, prefix=prefix, limit=limit),
        _then(m.Completions, lambda r: list(r.completions)),
    )


def interrupt(session: str, request: int | None = None) -> Plan[None]:
    """Interrupt request ``request`` of ``session`` (whatever runs there, if None)."""
    return Plan(lambda rid: m.Interrupt(id=rid, session=session, request=request), _none)


def open_session(flags: Sequence[str], libdir: str | None, timeout: float | None,
                 heap_mb: int | None, output_limit: int | None, cwd: str | None
                 ) -> Plan[tuple[str, bool]]:
    """The new session's id, and whether it came from the warm pool."""
    return Plan(
        lambda rid: m.OpenSession(id=rid, options=m.SessionOptions(
            flags=list(flags), libdir=libdir, timeout=timeout, heap_mb=heap_mb,
            output_limit=output_limit, cwd=cwd)),
        _then(m.SessionOpened, lambda r: (r.session, r.warm)),
    )


def close_session(session: str) -> Plan[None]:
    return Plan(lambda rid: m.CloseSession(id=rid, session=session), _none)


def list_sessions() -> Plan[list[SessionSummary]]:
    return Plan(
        lambda rid: m.ListSessions(id=rid),
        _then(m.SessionsResult, lambda r: [SessionSummary(s.session, s.busy, s.restarts, s.age)
                                           for s in r.sessions]),
    )
