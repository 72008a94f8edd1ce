"""The drop-in facade: GHC 9.0's interactive API names over remote GHCi sessions.

Legacy code replaces its in-process GHC API import with ``from compat import ghc_api as GHC``
and keeps calling the GHC names (API.md §1). GHC's implicit ``GhcMonad`` state is an implicit
*current session* (``runGhc``/``withSession`` set it; see ``compat._session``).

Responsible for: one thin wrapper per GHC name over ``core.client.Session``, the GHC-shaped
values they take and return (frozen dataclasses, ``str`` subclasses, enums usable in
``match``), and the deprecation warning of each function (``typing_extensions.deprecated``
with a *literal* message, so mypy flags call sites under ``enable_error_code =
["deprecated"]``). Must not: hold GHC semantics of its own — what a call means is core's;
emulation that changes meaning lives in ``compat.dyn_compile``; exceptions are translated in
``compat._errors`` only. Classes and constants do not warn; functions do.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal, TypeAlias, TypeVar

from typing_extensions import deprecated

from compat._errors import (
    Diagnostic,
    GhcException,
    HaskellException,
    InterpreterCrashed,
    SourceError,
    translated,
)
from compat._names import Kind, ModuleName, Name, Type, TypeRep
from compat._session import (
    LogAction,
    current,
    get_log_action,
    output_router,
    run_ghc,
    with_session,
)
from compat._session import set_log_action as _set_log_action
from compat._warnings import (
    ChangedWarning,
    GhcApiDeprecationWarning,
    MovedWarning,
    RemovedWarning,
    legacy,
)
from compat.dyn_compile import (  # type: ignore[deprecated]
    # Re-exported: legacy code reaches the Dynamic API through this module, as through GHC.
    Dynamic,
    HValue,
    Just,
    Nothing,
    NothingType,
    bindValue,
    compileExpr,
    dynCompileExpr,
    dynTypeRep,
    fromDyn,
    fromDynamic,
    toDyn,
)
from core.client import Flags, Import, Session
from core.client import Target as CoreTarget
from core.protocol.flags import negated_flag, with_flag
from core.protocol.imports import render_import, split_import_items
from core.protocol.values import Left, Right

__all__ = [
    "ChangedWarning",
    "Diagnostic",
    "DynFlags",
    "Dynamic",
    "ExecBreak",
    "ExecComplete",
    "ExecOptions",
    "ExecResult",
    "Failed",
    "GhcApiDeprecationWarning",
    "GhcException",
    "HValue",
    "HaskellException",
    "IIDecl",
    "IIModule",
    "ImportDecl",
    "Info",
    "InteractiveImport",
    "InterpreterCrashed",
    "Just",
    "Kind",
    "LangExt",
    "Left",
    "LoadAllTargets",
    "LoadHowMuch",
    "LoadUpTo",
    "ModSummary",
    "ModuleName",
    "MovedWarning",
    "Name",
    "Nothing",
    "NothingType",
    "RemovedWarning",
    "Right",
    "RunAndLogSteps",
    "RunBreak",
    "RunException",
    "RunOk",
    "RunResult",
    "RunToCompletion",
    "SingleStep",
    "SingleStepMode",
    "SourceError",
    "Succeeded",
    "SuccessFlag",
    "TM_Default",
    "TM_Inst",
    "TM_NoInst",
    "Target",
    "TargetFile",
    "TargetId",
    "TargetModule",
    "TcRnExprMode",
    "TyThing",
    "Type",
    "TypeRep",
    "addTarget",
    "bindValue",
    "compileExpr",
    "dynCompileExpr",
    "dynTypeRep",
    "execOptions",
    "execStmt",
    "exprType",
    "fromDyn",
    "fromDynamic",
    "getBindings",
    "getContext",
    "getInfo",
    "getModuleGraph",
    "getNamesInScope",
    "getOccString",
    "getRdrNamesInScope",
    "getSession",
    "getSessionDynFlags",
    "getTargets",
    "guessTarget",
    "handleSourceError",
    "isLoaded",
    "isModuleInterpreted",
    "load",
    "mkModuleName",
    "moduleIsInterpreted",
    "moduleNameString",
    "parseDynamicFlags",
    "parseImportDecl",
    "parseName",
    "removeTarget",
    "runDecls",
    "runGhc",
    "runStmt",
    "setContext",
    "setLogAction",
    "setSessionDynFlags",
    "setTargets",
    "showPpr",
    "showSDoc",
    "simpleImportDecl",
    "srcErrorMessages",
    "toDyn",
    "typeKind",
    "withSession",
    "xopt",
    "xopt_set",
    "xopt_unset",
]

T = TypeVar("T")


# =============================================================================== §1.1 Session


@deprecated(
    "runGhc is deprecated: use core.client.Client.open_session instead "
    "(migration_guide.md#runghc)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def runGhc(libdir: str | None, action: Callable[[], T]) -> T:
    """Open a remote session, make it current while ``action()`` runs, close it afterwards
    (also on exceptions). ``libdir`` is passed to GHC as its libdir (``-B``) when given.
    Nested calls get independent sessions.

    Raises:
        GhcException: the server cannot be reached, or refuses another session.
    """
    return run_ghc(libdir, action)


@deprecated(
    "getSession is deprecated: use core.client.Session instead "
    "(migration_guide.md#getsession)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getSession() -> Session:
    """The current session as a ``core.client.Session`` (the bridge: both APIs can be used
    on it, interleaved).

    Raises:
        GhcException: no session is current.
    """
    return current()


@deprecated(
    "withSession is deprecated: use core.client.Session instead "
    "(migration_guide.md#withsession)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def withSession(session: Session, action: Callable[[], T]) -> T:
    """Run ``action()`` with an existing ``core.client.Session`` made current (not closed)."""
    return with_session(session, action)


# ================================================================================ §1.2 Flags


@dataclass(frozen=True, slots=True)
class DynFlags:
    """The session's flags as a value: ``extensions`` switched on explicitly,
    ``disabled_extensions`` switched off explicitly (``-XNoFoo``), and the other GHC
    command-line ``flags`` set so far. ``setSessionDynFlags`` applies the difference."""

    extensions: frozenset[str] = frozenset()
    flags: tuple[str, ...] = ()
    disabled_extensions: frozenset[str] = frozenset()

    @classmethod
    def from_core(cls, flags: Flags) -> DynFlags:
        on = {e for e in flags.extensions if not _is_negated_extension(e)}
        off = {e[2:] for e in flags.extensions if _is_negated_extension(e)}
        return cls(frozenset(on), tuple(flags.flags), frozenset(off))

    def __str__(self) -> str:
        return " ".join(
            [*(f"-X{e}" for e in sorted(self.extensions)),
             *(f"-XNo{e}" for e in sorted(self.disabled_extensions)), *self.flags]
        )


def _is_negated_extension(name: str) -> bool:
    # "NoImplicitPrelude" switches ImplicitPrelude off; "NondecreasingIndentation" is a name.
    return name.startswith("No") and name[2:3].isupper()


def _extension_setting(name: str, on: bool) -> tuple[str, bool]:
    """``name`` switched ``on`` as (extension, on): "NoImplicitPrelude" on is ImplicitPrelude
    off. DynFlags keep the positive name only, as they are read back from the session: a
    "NoX" left in ``extensions`` would make ``setSessionDynFlags`` send -XNoX *and* -XX."""
    return (name[2:], not on) if _is_negated_extension(name) else (name, on)


def _with_extension(dflags: DynFlags, name: str, on: bool) -> DynFlags:
    ext, on = _extension_setting(name, on)
    if on:
        return replace(dflags, extensions=dflags.extensions | {ext},
                       disabled_extensions=dflags.disabled_extensions - {ext})
    return replace(dflags, extensions=dflags.extensions - {ext},
                   disabled_extensions=dflags.disabled_extensions | {ext})


def _normalized(dflags: DynFlags) -> DynFlags:
    """``dflags`` with every "NoX" name moved to the other set (DynFlags built by hand)."""
    result = DynFlags(frozenset(), dflags.flags, frozenset())
    for names, on in ((dflags.disabled_extensions, False), (dflags.extensions, True)):
        for name in sorted(names):
            result = _with_extension(result, name, on)
    return result


class _LangExt:
    """``LangExt.OverloadedStrings == "OverloadedStrings"``: any attribute is its own name."""

    __slots__ = ()

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return name


LangExt: Final = _LangExt()


@deprecated(
    "getSessionDynFlags is deprecated: use core.client.Session.get_flags instead "
    "(migration_guide.md#getsessiondynflags)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getSessionDynFlags() -> DynFlags:
    """The current session's flags."""
    session = current()
    with translated():
        return DynFlags.from_core(session.get_flags())


@deprecated(
    "setSessionDynFlags is deprecated: use core.client.Session.set_flags instead "
    "(migration_guide.md#setsessiondynflags)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def setSessionDynFlags(dflags: DynFlags) -> None:
    """Apply the difference between ``dflags`` and the session's flags.

    Raises:
        GhcException: a flag GHC does not recognise, one the shim forbids, or a removed flag
            that has no negation (``-fX``/``-fno-X`` and ``-WX``/``-Wno-X`` have one).
    """
    session = current()
    dflags = _normalized(dflags)
    with translated():
        now = DynFlags.from_core(session.get_flags())
    args = [f"-X{e}" for e in sorted(dflags.extensions - now.extensions)]
    args += [f"-XNo{e}" for e in sorted(dflags.disabled_extensions - now.disabled_extensions)]
    # An extension dropped from a set goes back the other way (GHC's xopt_unset result).
    args += [f"-XNo{e}" for e in sorted(now.extensions - dflags.extensions
                                        - dflags.disabled_extensions)]
    args += [f"-X{e}" for e in sorted(now.disabled_extensions - dflags.disabled_extensions
                                      - dflags.extensions)]
    args += [f for f in dflags.flags if f not in now.flags]
    for flag in now.flags:
        if flag not in dflags.flags:
            negation = negated_flag(flag)
            if negation is None:
                raise GhcException(f"cannot remove flag {flag} from a running session")
            args.append(negation)
    if not args:
        return
    with translated():
        result = session.set_flags(args)
    if result.unrecognized:
        raise GhcException("unrecognised flags: " + " ".join(result.unrecognized))


@deprecated(
    "xopt_set is deprecated: use core.client.Session.set_flags instead "
    "(migration_guide.md#xopt_set)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def xopt_set(dflags: DynFlags, ext: str) -> DynFlags:
    """``dflags`` with extension ``ext`` switched on (a pure value; nothing is applied);
    ``"NoX"`` switches X off, as ``-XNoX`` does."""
    return _with_extension(dflags, ext, True)


@deprecated(
    "xopt_unset is deprecated: use core.client.Session.set_flags instead "
    "(migration_guide.md#xopt_unset)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def xopt_unset(dflags: DynFlags, ext: str) -> DynFlags:
    """``dflags`` with extension ``ext`` switched off (a pure value; nothing is applied);
    ``"NoX"`` switches X on."""
    return _with_extension(dflags, ext, False)


@deprecated(
    "xopt is deprecated: use core.client.Flags.extensions instead "
    "(migration_guide.md#xopt)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def xopt(ext: str, dflags: DynFlags) -> bool:
    """Whether ``ext`` is switched on explicitly in ``dflags`` (``"NoX"``: X switched off)."""
    name, on = _extension_setting(ext, True)
    return name in (dflags.extensions if on else dflags.disabled_extensions)


@deprecated(
    "parseDynamicFlags is deprecated: use core.client.Session.set_flags instead "
    "(migration_guide.md#parsedynamicflags)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def parseDynamicFlags(
    dflags: DynFlags, args: Sequence[str]
) -> tuple[DynFlags, list[str], list[str]]:
    """Parse command-line flags into ``dflags``: (new flags, leftovers, warnings).

    Nothing is applied to the current session. Which flags GHC recognises is decided by GHC
    itself, in a scratch session of the same server; unknown flags and non-flag arguments are
    leftovers, never dropped.

    Raises:
        GhcException: a flag the shim forbids in any session (``-fno-external-interpreter``).
    """
    session = current()
    candidates = [a for a in args if _looks_like_flag(a)]
    unrecognized: set[str] = set()
    warnings: list[str] = []
    if candidates:
        with translated(), session.client.open_session() as scratch:
            result = scratch.set_flags(candidates)
        unrecognized = {u.rstrip(",") for u in result.unrecognized}
        warnings = list(result.warnings)
    on, off, flags = set(dflags.extensions), set(dflags.disabled_extensions), list(dflags.flags)
    leftovers: list[str] = []
    for arg in args:
        if arg not in candidates or arg in unrecognized:
            leftovers.append(arg)
        elif arg.startswith("-X") and _is_negated_extension(arg[2:]):
            on.discard(arg[4:])
            off.add(arg[4:])
        elif arg.startswith("-X"):
            off.discard(arg[2:])
            on.add(arg[2:])
        else:
            with_flag(flags, arg)
    return DynFlags(frozenset(on), tuple(flags), frozenset(off)), leftovers, warnings


def _looks_like_flag(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not any(c.isspace() or c == '"' for c in arg)


# ======================================================================= §1.3 Import context


@deprecated(
    "mkModuleName is deprecated: use core.client.Import instead "
    "(migration_guide.md#mkmodulename)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def mkModuleName(s: str) -> ModuleName:
    """A ``ModuleName`` (a ``str``)."""
    return ModuleName(s)


@deprecated(
    "moduleNameString is deprecated: use core.client.Import instead "
    "(migration_guide.md#modulenamestring)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def moduleNameString(m: ModuleName | str) -> str:
    """The module name as a plain ``str``."""
    return str(m)


@dataclass(frozen=True, slots=True)
class ImportDecl:
    """One ``import`` declaration. ``ideclHiding``: ``(False, names)`` is an import list,
    ``(True, names)`` a hiding list, None neither. ``str(decl)`` is valid Haskell."""

    ideclName: ModuleName
    ideclQualified: bool = False
    ideclAs: ModuleName | None = None
    ideclHiding: tuple[bool, tuple[str, ...]] | None = None
    ideclImplicit: bool = False

    def __str__(self) -> str:
        hiding, names = self.ideclHiding if self.ideclHiding is not None else (None, ())
        return render_import(self.ideclName, qualified=self.ideclQualified, as_=self.ideclAs,
                             hiding=hiding, names=names)

    def to_core(self) -> Import:
        hiding = None if self.ideclHiding is None else self.ideclHiding[0]
        names = () if self.ideclHiding is None else tuple(self.ideclHiding[1])
        return Import(
            module=str(self.ideclName), kind="decl", qualified=self.ideclQualified,
            as_=None if self.ideclAs is None else str(self.ideclAs), hiding=hiding,
            names=names, implicit=self.ideclImplicit,
        )


@dataclass(frozen=True, slots=True)
class IIDecl:
    """An interactive import given as an ``import`` declaration."""

    decl: ImportDecl

    def __str__(self) -> str:
        return str(self.decl)


@dataclass(frozen=True, slots=True)
class IIModule:
    """The full top-level scope of an interpreted home module (GHCi's ``:module *M``)."""

    name: ModuleName

    def __str__(self) -> str:
        return f"*{self.name}"


InteractiveImport: TypeAlias = IIDecl | IIModule


def _to_core_import(imp: InteractiveImport) -> Import:
    if isinstance(imp, IIModule):
        return Import(module=str(imp.name), kind="module")
    return imp.decl.to_core()


def _from_core_import(imp: Import) -> InteractiveImport:
    if imp.kind == "module":
        return IIModule(ModuleName(imp.module))
    return IIDecl(
        ImportDecl(
            ideclName=ModuleName(imp.module),
            ideclQualified=imp.qualified,
            ideclAs=None if imp.as_ is None else ModuleName(imp.as_),
            ideclHiding=None if imp.hiding is None else (imp.hiding, tuple(imp.names)),
            ideclImplicit=imp.implicit,
        )
    )


@deprecated(
    "simpleImportDecl is deprecated: use core.client.Import instead "
    "(migration_guide.md#simpleimportdecl)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def simpleImportDecl(m: ModuleName | str) -> ImportDecl:
    """``import M``."""
    return ImportDecl(ModuleName(m))


_MODULE_RE: Final = r"[A-Z][\w']*(?:\.[A-Z][\w']*)*"
_IMPORT_RE: Final = re.compile(
    rf"""
    import\s+
    (?P<qualified>qualified\s+)?
    (?P<module>{_MODULE_RE})
    (?P<postqualified>\s+qualified)?
    (?:\s+as\s+(?P<as>{_MODULE_RE}))?
    (?:\s*(?P<hiding>(?<=\s)hiding\s*)?\((?P<items>.*)\))?
    """,
    re.VERBOSE | re.DOTALL,
)
_UNSUPPORTED_IMPORT_RE: Final = re.compile(r'import\s+(\{-#\s*SOURCE|safe\s|"|qualified\s+")')


@deprecated(
    "parseImportDecl is deprecated: use core.client.Import instead "
    "(migration_guide.md#parseimportdecl)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def parseImportDecl(s: str) -> ImportDecl:
    """Parse exactly one ``import`` declaration.

    Raises:
        SourceError: anything that is not exactly one import declaration.
        GhcException: ``{-# SOURCE #-}``, ``safe`` and package-qualified imports, which the
            remote session cannot express.
    """
    text = _strip_comments(s).strip()
    if _UNSUPPORTED_IMPORT_RE.match(text):
        raise GhcException(
            f"unsupported import form (SOURCE, safe or package-qualified): {s.strip()!r}"
        )
    match = _IMPORT_RE.fullmatch(text)
    items = split_import_items(match["items"]) if match and match["items"] is not None else ()
    if match is None or items is None:
        message = (
            "parse error (possibly incorrect indentation or mismatched brackets)"
            if text.count("(") != text.count(")")
            else "parse error in import declaration"
        )
        raise SourceError(
            f"<interactive>:1:1: error: {message}",
            [Diagnostic("<interactive>", 1, 1, 1, max(1, len(text.split("\n")[0])), "error",
                        message)],
        )
    hiding = None if match["items"] is None else (match["hiding"] is not None, items)
    return ImportDecl(
        ideclName=ModuleName(match["module"]),
        ideclQualified=bool(match["qualified"] or match["postqualified"]),
        ideclAs=ModuleName(match["as"]) if match["as"] else None,
        ideclHiding=hiding,
    )


def _strip_comments(s: str) -> str:
    s = re.sub(r"\{-(?!#).*?-\}", " ", s, flags=re.DOTALL)
    return re.sub(r"--(?![!#$%&*+./<=>?@\\^|~]).*", "", s)


@deprecated(
    "getContext is deprecated: use core.client.Session.get_context instead "
    "(migration_guide.md#getcontext)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getContext() -> list[InteractiveImport]:
    """Exactly what was last set (``[]`` for a fresh session and after ``load``).

    Read back from core on each call rather than cached here: the conversion is lossless,
    and code that uses ``getSession().set_context`` (the migration bridge) stays visible.
    """
    session = current()
    with translated():
        return [_from_core_import(i) for i in session.get_context()]


@deprecated(
    "setContext is deprecated: use core.client.Session.set_context instead "
    "(migration_guide.md#setcontext)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def setContext(imports: Iterable[InteractiveImport]) -> None:
    """Replace the whole import context (the Prelude stays implicit unless imported).

    Raises:
        SourceError: a module that cannot be found.
        GhcException: ``IIModule`` of a module that is not an interpreted home module.
        (On error the previous context stays in force.)
    """
    session = current()
    core_imports = [_to_core_import(i) for i in imports]
    with translated():
        session.set_context(core_imports)


# ======================================================================= §1.4 Running code


class SingleStepMode(enum.Enum):
    """GHC's ``SingleStep`` type (its constructors are this module's ``RunToCompletion``,
    ``SingleStep`` and ``RunAndLogSteps``; the type is renamed because Python cannot give a
    type and one of its values the same name)."""

    RunToCompletion = "RunToCompletion"
    SingleStep = "SingleStep"
    RunAndLogSteps = "RunAndLogSteps"


RunToCompletion: Final = SingleStepMode.RunToCompletion
SingleStep: Final = SingleStepMode.SingleStep
RunAndLogSteps: Final = SingleStepMode.RunAndLogSteps


@dataclass(frozen=True)
class ExecOptions:
    """Options of ``execStmt``: GHC's fields plus the shim's ``timeout`` (seconds; None: the
    session default), ``stdout``/``stderr`` (called with output chunks as they are produced;
    None writes them to ``sys.stdout``/``sys.stderr``) and ``stdin`` (the text the statement
    may read; None: end of file at once). Only ``RunToCompletion`` runs remotely."""

    execSingleStep: SingleStepMode = RunToCompletion
    execSourceFile: str = "<interactive>"
    execLineNumber: int = 1
    timeout: float | None = None
    stdout: Callable[[str], None] | None = field(default=None, compare=False)
    stderr: Callable[[str], None] | None = field(default=None, compare=False)
    stdin: str | None = None


execOptions: Final = ExecOptions()


@dataclass(frozen=True, slots=True)
class ExecComplete:
    """The statement ran: ``Right(names)`` it bound, or ``Left(HaskellException)``.
    ``execAllocation`` is what core reports (0: the remote interpreter does not count)."""

    execResult: Left[HaskellException] | Right[list[Name]]
    execAllocation: int = 0


@dataclass(frozen=True, slots=True)
class ExecBreak:
    """Stopped at a breakpoint. Never produced remotely (only ``RunToCompletion`` runs);
    kept so that legacy ``match`` statements over ``ExecResult`` still type-check."""

    breakNames: list[Name]
    breakInfo: None = None


ExecResult: TypeAlias = ExecComplete | ExecBreak


def _exec(stmt: str, opts: ExecOptions) -> ExecComplete:
    if opts.execSingleStep is not RunToCompletion:
        raise GhcException(
            f"{opts.execSingleStep.value} is not supported by remote sessions: only "
            "RunToCompletion runs (see migration_guide.md#execstmt)"
        )
    session = current()
    with translated():
        outcome = session.exec_stmt(
            stmt,
            source_file=opts.execSourceFile,
            line=opts.execLineNumber,
            timeout=opts.timeout,
            stdin=opts.stdin,
            on_output=output_router(opts.stdout, opts.stderr),
        )
    log = get_log_action(session)
    for warning in outcome.warnings:  # as GHC's logger reports them
        log(Diagnostic.from_core(warning))
    if outcome.exception is not None:
        exc = HaskellException(outcome.exception.type, outcome.exception.message)
        return ExecComplete(Left(exc), outcome.allocation)
    return ExecComplete(Right([Name(n) for n in outcome.names]), outcome.allocation)


@deprecated(
    "execStmt is deprecated: use core.client.Session.exec_stmt instead "
    "(migration_guide.md#execstmt)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def execStmt(stmt: str, opts: ExecOptions = execOptions) -> ExecResult:
    """Run a statement (an expression, ``x <- e``, ``let``; multi-line layout works).

    Returns ``ExecComplete(Right(names))``, or ``ExecComplete(Left(HaskellException))`` when
    the code threw, was interrupted (``"UserInterrupt"``) or timed out (``"Timeout"``).

    Raises:
        SourceError: parse or type errors, or a GHCi colon command; nothing ran.
        GhcException: ``SingleStep``/``RunAndLogSteps`` (not supported remotely).
        InterpreterCrashed: the interpreter died (session restarted and replayed).
    """
    return _exec(stmt, opts)


@deprecated(
    "runDecls is deprecated: use core.client.Session.run_decls instead "
    "(migration_guide.md#rundecls)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def runDecls(decls: str) -> list[Name]:
    """Compile top-level declarations; returns the user-visible names they declare.

    Raises:
        SourceError: they do not compile (or are not declarations).
    """
    session = current()
    log = get_log_action(session)
    with translated():
        # Warnings go to the log action, as GHC's logger reports them.
        names = session.run_decls(decls, on_warning=lambda d: log(Diagnostic.from_core(d)))
    return [Name(n) for n in names]


@dataclass(frozen=True, slots=True)
class RunOk:
    """``runStmt`` succeeded, binding ``names``."""

    names: list[Name]


@dataclass(frozen=True, slots=True)
class RunException:
    """``runStmt``: the Haskell code threw ``exc``."""

    exc: HaskellException


@dataclass(frozen=True, slots=True)
class RunBreak:
    """``runStmt`` stopped at a breakpoint (never produced remotely)."""

    names: list[Name]


RunResult: TypeAlias = RunOk | RunException | RunBreak


@deprecated(
    "runStmt is deprecated: use core.client.Session.exec_stmt instead "
    "(migration_guide.md#runstmt)",
    category=RemovedWarning,
)
@legacy(RemovedWarning)
def runStmt(stmt: str, step: SingleStepMode = RunToCompletion) -> RunResult:
    """The pre-GHC-8 API (removed from GHC in 8.2): ``execStmt`` with a ``RunResult``."""
    result = _exec(stmt, ExecOptions(execSingleStep=step))
    match result.execResult:
        case Left(value=exc):
            return RunException(exc)
        case Right(value=names):
            return RunOk(names)
    raise AssertionError("unreachable")  # pragma: no cover


@deprecated(
    "getOccString is deprecated: use core.client.NameRef.name instead "
    "(migration_guide.md#getoccstring)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getOccString(name: Name | str) -> str:
    """The occurrence name as a plain ``str``."""
    return str(name)


# ============================================================ §1.6 Types, names, information


class TcRnExprMode(enum.Enum):
    """How ``exprType`` instantiates: ``:type``, ``:type +v``, ``:type +d``."""

    TM_Inst = "inst"
    TM_NoInst = "noinst"
    TM_Default = "default"


TM_Inst: Final = TcRnExprMode.TM_Inst
TM_NoInst: Final = TcRnExprMode.TM_NoInst
TM_Default: Final = TcRnExprMode.TM_Default


@deprecated(
    "exprType is deprecated: use core.client.Session.expr_type instead "
    "(migration_guide.md#exprtype)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def exprType(mode: TcRnExprMode, expr: str) -> Type:
    """The type of ``expr`` as GHCi renders it (nothing is evaluated).

    Raises:
        SourceError: it does not type-check.
    """
    session = current()
    with translated():
        return Type(session.expr_type(expr, mode.value))


@deprecated(
    "typeKind is deprecated: use core.client.Session.type_kind instead "
    "(migration_guide.md#typekind)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def typeKind(normalise: bool, ty: str) -> tuple[Type, Kind]:
    """``:kind`` (``normalise=False``) or ``:kind!``: the (normalised) type and its kind.

    Raises:
        SourceError: not a type in scope, or a parse error.
    """
    session = current()
    with translated():
        result = session.type_kind(ty, normalise=normalise)
    return Type(result.type), Kind(result.kind)


def _ppr(x: object) -> str:
    match x:
        case str():
            return str(x)
        case list() | tuple():
            return "[" + ", ".join(_ppr(i) for i in x) + "]"
        case enum.Enum():
            return x.name
        case HaskellException():
            return x.message
        case Left(value=v):
            return f"Left {_ppr(v)}"
        case Right(value=v):
            return f"Right {_ppr(v)}"
    return str(x)


@deprecated(
    "showPpr is deprecated: use str() instead (migration_guide.md#showppr)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def showPpr(dflags: DynFlags | None, x: object) -> str:
    """Render a facade value as GHC's ``ppr`` would (``dflags`` is accepted and ignored)."""
    return _ppr(x)


@deprecated(
    "showSDoc is deprecated: use str() instead (migration_guide.md#showsdoc)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def showSDoc(dflags: DynFlags | None, x: object) -> str:
    """Like ``showPpr``: every facade value is its own document."""
    return _ppr(x)


@deprecated(
    "getNamesInScope is deprecated: use core.client.Session.names_in_scope instead "
    "(migration_guide.md#getnamesinscope)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getNamesInScope() -> list[Name]:
    """Every unqualified name in scope at the prompt."""
    session = current()
    with translated():
        return [Name(n.name, n.module) for n in session.names_in_scope()]


@deprecated(
    "getRdrNamesInScope is deprecated: use core.client.Session.names_in_scope instead "
    "(migration_guide.md#getrdrnamesinscope)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getRdrNamesInScope() -> list[str]:
    """Qualified and unqualified spellings in scope (what GHCi completes)."""
    session = current()
    with translated():
        return [n.name for n in session.names_in_scope(rdr=True)]


@deprecated(
    "parseName is deprecated: use core.client.Session.parse_name instead "
    "(migration_guide.md#parsename)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def parseName(s: str) -> list[Name]:
    """Resolve an identifier (operators with or without parentheses) in the context.

    Raises:
        SourceError: not in scope.
    """
    session = current()
    with translated():
        return [Name(n.name, n.module) for n in session.parse_name(s)]


@dataclass(frozen=True, slots=True)
class Info:
    """GHCi's ``:info``: ``text`` whole; ``thing`` the declaration; the first thing's
    ``instances``, ``fixity`` and ``defined_in``."""

    text: str
    thing: str
    instances: list[str]
    fixity: str | None = None
    defined_in: str | None = None


@deprecated(
    "getInfo is deprecated: use core.client.Session.info instead "
    "(migration_guide.md#getinfo)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getInfo(allInfo: bool, name: Name | str) -> Info | None:
    """``:info`` (``allInfo=True``: ``:info!``); None when the name is not in scope."""
    session = current()
    with translated():
        result = session.info(str(name), all_info=allInfo)
    if result is None:
        return None
    text, items = result
    first = items[0]
    return Info(text, first.thing, list(first.instances), first.fixity, first.defined_in)


@dataclass(frozen=True, slots=True)
class TyThing:
    """A prompt binding: its name and type."""

    name: Name
    type: Type


@deprecated(
    "getBindings is deprecated: use core.client.Session.bindings instead "
    "(migration_guide.md#getbindings)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getBindings() -> list[TyThing]:
    """Prompt bindings, newest first."""
    session = current()
    with translated():
        return [TyThing(Name(b.name), Type(b.type)) for b in session.bindings()]


# =============================================================================== §1.7 Modules


@dataclass(frozen=True, slots=True)
class TargetModule:
    """A target named by module (``Some.Module``)."""

    name: ModuleName

    def __str__(self) -> str:
        return str(self.name)


@dataclass(frozen=True, slots=True)
class TargetFile:
    """A target named by file (``Foo.hs``); ``phase`` is accepted for compatibility."""

    path: str
    phase: str | None = None

    def __str__(self) -> str:
        return self.path


TargetId: TypeAlias = TargetModule | TargetFile


@dataclass(frozen=True, slots=True)
class Target:
    """GHC's ``Target``; ``targetAllowObjCode=False`` is the ``*Foo.hs`` form (interpret)."""

    targetId: TargetId
    targetAllowObjCode: bool = True
    targetContents: None = None

    def __str__(self) -> str:
        return ("" if self.targetAllowObjCode else "*") + str(self.targetId)

    def to_core(self) -> CoreTarget:
        match self.targetId:
            case TargetModule(name=name):
                return CoreTarget("module", str(name), self.targetAllowObjCode)
            case TargetFile(path=path):
                return CoreTarget("file", path, self.targetAllowObjCode)
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def from_core(cls, target: CoreTarget) -> Target:
        target_id: TargetId = (
            TargetModule(ModuleName(target.name)) if target.kind == "module"
            else TargetFile(target.name)
        )
        return cls(target_id, target.allow_object_code)


_HASKELL_SOURCE: Final = (".hs", ".lhs", ".hsig", ".lhsig")


@deprecated(
    "guessTarget is deprecated: use core.client.Target instead "
    "(migration_guide.md#guesstarget)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def guessTarget(s: str, phase: str | None = None) -> Target:
    """GHC's rules: ``"Foo.hs"``/``"*Foo.hs"`` is a file (not checked for existence),
    ``"Foo"`` is ``Foo.hs``/``Foo.lhs`` if that file exists, else a module name if it looks
    like one. Relative paths resolve against this process's working directory.

    Raises:
        GhcException: neither a module name nor a source file.
    """
    allow_obj = not s.startswith("*")
    name = s if allow_obj else s[1:]
    if phase is not None or name.endswith(_HASKELL_SOURCE):
        return Target(TargetFile(name, phase), allow_obj)
    for ext in (".hs", ".lhs"):
        if os.path.isfile(name + ext):
            return Target(TargetFile(name + ext), allow_obj)
    if re.fullmatch(_MODULE_RE, name):
        return Target(TargetModule(ModuleName(name)), allow_obj)
    raise GhcException(f"target ‘{name}’ is not a module name or a source file")


@deprecated(
    "setTargets is deprecated: use core.client.Session.set_targets instead "
    "(migration_guide.md#settargets)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def setTargets(targets: Iterable[Target]) -> None:
    """Replace the targets ``load`` compiles."""
    session = current()
    core_targets = [t.to_core() for t in targets]
    with translated():
        session.set_targets(core_targets)


@deprecated(
    "getTargets is deprecated: use core.client.Session.get_targets instead "
    "(migration_guide.md#gettargets)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getTargets() -> list[Target]:
    """The targets (file paths absolute when the server is local)."""
    session = current()
    with translated():
        return [Target.from_core(t) for t in session.get_targets()]


@deprecated(
    "addTarget is deprecated: use core.client.Session.add_target instead "
    "(migration_guide.md#addtarget)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def addTarget(target: Target) -> None:
    session = current()
    with translated():
        session.add_target(target.to_core())


@deprecated(
    "removeTarget is deprecated: use core.client.Session.remove_target instead "
    "(migration_guide.md#removetarget)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def removeTarget(target_id: TargetId) -> None:
    session = current()
    with translated():
        session.remove_target(Target(target_id).to_core())


class _LoadAll(enum.Enum):
    LoadAllTargets = "LoadAllTargets"


LoadAllTargets: Final = _LoadAll.LoadAllTargets


@dataclass(frozen=True, slots=True)
class LoadUpTo:
    """Load ``module`` and what it depends on."""

    module: ModuleName


LoadHowMuch: TypeAlias = Literal[_LoadAll.LoadAllTargets] | LoadUpTo


class SuccessFlag(enum.Enum):
    Succeeded = "Succeeded"
    Failed = "Failed"


Succeeded: Final = SuccessFlag.Succeeded
Failed: Final = SuccessFlag.Failed


@deprecated(
    "load is deprecated: use core.client.Session.load instead "
    "(migration_guide.md#load)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def load(how: LoadHowMuch = LoadAllTargets) -> SuccessFlag:
    """Compile the targets. As in GHC, compile errors go to the log action (see
    ``setLogAction``), not into exceptions, and the import context and prompt bindings are
    reset (``HValue`` references survive).

    Raises:
        SourceError: a target module or file that cannot be found.
    """
    session = current()
    # What the program prints while compiling (Template Haskell's runIO) lands where it
    # would in-process: this process's stdout and stderr.
    printed = output_router(None, None)
    with translated():
        if isinstance(how, LoadUpTo):
            outcome = session.load("up_to", str(how.module), on_output=printed)
        else:
            outcome = session.load("all", on_output=printed)
    log = get_log_action(session)
    for d in outcome.diagnostics:
        log(Diagnostic.from_core(d))
    return Succeeded if outcome.success else Failed


@deprecated(
    "setLogAction is deprecated: use core.client.LoadOutcome.diagnostics instead "
    "(migration_guide.md#setlogaction)",
    category=ChangedWarning,
)
@legacy(ChangedWarning)
def setLogAction(action: LogAction) -> None:
    """Where ``load`` reports diagnostics (default: GHC's text on ``sys.stderr``)."""
    _set_log_action(current(), action)


@dataclass(frozen=True, slots=True)
class ModSummary:
    """A module of the module graph (``interpreted`` is the shim's addition)."""

    ms_mod_name: ModuleName
    ms_hspp_file: str
    interpreted: bool = True


def _module_graph(session: Session) -> list[ModSummary]:
    with translated():
        return [ModSummary(ModuleName(m.name), m.file, m.interpreted)
                for m in session.module_graph()]


@deprecated(
    "getModuleGraph is deprecated: use core.client.Session.module_graph instead "
    "(migration_guide.md#getmodulegraph)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def getModuleGraph() -> list[ModSummary]:
    """The loaded home modules."""
    return _module_graph(current())


@deprecated(
    "isLoaded is deprecated: use core.client.Session.module_graph instead "
    "(migration_guide.md#isloaded)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def isLoaded(name: ModuleName | str) -> bool:
    return any(ms.ms_mod_name == name for ms in _module_graph(current()))


def _interpreted(module: ModSummary | ModuleName | str) -> bool:
    name = module.ms_mod_name if isinstance(module, ModSummary) else module
    return any(ms.ms_mod_name == name and ms.interpreted for ms in _module_graph(current()))


@deprecated(
    "moduleIsInterpreted is deprecated: use core.client.Session.module_graph instead "
    "(migration_guide.md#moduleisinterpreted)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def moduleIsInterpreted(module: ModSummary | ModuleName | str) -> bool:
    """True iff ``module`` is a loaded, interpreted home module."""
    return _interpreted(module)


@deprecated(
    "isModuleInterpreted is deprecated: use core.client.Session.module_graph instead "
    "(migration_guide.md#ismoduleinterpreted)",
    category=RemovedWarning,
)
@legacy(RemovedWarning)
def isModuleInterpreted(module: ModSummary | ModuleName | str) -> bool:
    """The pre-8.4 name of ``moduleIsInterpreted`` (gone from GHC 9.0)."""
    return _interpreted(module)


# ================================================================================ §1.8 Errors


@deprecated(
    "srcErrorMessages is deprecated: use core.client.CompileError.diagnostics instead "
    "(migration_guide.md#srcerrormessages)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def srcErrorMessages(e: SourceError) -> list[Diagnostic]:
    return list(e.diagnostics)


@deprecated(
    "handleSourceError is deprecated: use core.client.CompileError instead "
    "(migration_guide.md#handlesourceerror)",
    category=MovedWarning,
)
@legacy(MovedWarning)
def handleSourceError(handler: Callable[[SourceError], T], action: Callable[[], T]) -> T:
    """``action()``, or ``handler(e)`` if it raises ``SourceError``."""
    try:
        return action()
    except SourceError as e:
        return handler(e)

