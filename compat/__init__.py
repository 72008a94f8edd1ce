"""The legacy facade: GHC's in-process API names, served by remote GHCi sessions.

Legacy code switches one import (``from compat import ghc_api as GHC``) and keeps calling the
GHC names; every call warns with a subclass of ``GhcApiDeprecationWarning`` that names its
``core.client`` replacement and its section of ``migration_guide.md``.

This package module only exports the warning classes, so that ``-W`` options, pytest's
``filterwarnings`` and ``warnings.filterwarnings`` can name them as ``compat.MovedWarning``.
Must not: import ``compat.ghc_api`` or ``core`` (importing ``compat`` is cheap and never
warns: the pytest plugin imports it in every test run), or emit any warning.
"""

from compat._warnings import (
    ChangedWarning,
    GhcApiDeprecationWarning,
    MovedWarning,
    RemovedWarning,
)

__all__ = [
    "ChangedWarning",
    "GhcApiDeprecationWarning",
    "MovedWarning",
    "RemovedWarning",
]
