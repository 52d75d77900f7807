"""Whether the relevance hot path runs compiled, and a guard against a stale build.

setup.py compiles COMPILED_MODULES with mypyc when the package is installed (pure Python is
the fallback where no C compiler is found). An extension module shadows its .py file, so after
an edit to one of them the old build would keep running; `ensure_fresh` (called by
worker/relevance/__init__.py before it imports them) notices a source newer than its build
and then loads all of them from source, with a warning.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
from pathlib import Path

# Compiled together (they call each other natively), so loaded together: all or none.
COMPILED_MODULES = (
    "worker.relevance.matcher",
    "worker.relevance.scorer",
    "worker.relevance.engine",
)

log = logging.getLogger(__name__)
_state = {"compiled": False}


def _extension_path(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    if isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return Path(spec.origin)
    return None


def _source_path(name: str) -> Path:
    return Path(__file__).with_name(name.rsplit(".", 1)[1] + ".py")


def ensure_fresh() -> None:
    """Use the compiled modules only when every one of them is newer than its source."""
    if any(name in sys.modules for name in COMPILED_MODULES):
        return  # already decided (and imported) once
    builds = {name: _extension_path(name) for name in COMPILED_MODULES}
    if all(path is None for path in builds.values()):
        return  # pure Python install: nothing to decide
    stale = [
        name
        for name, path in builds.items()
        if path is None or _source_path(name).stat().st_mtime > path.stat().st_mtime
    ]
    if not stale:
        _state["compiled"] = True
        return
    log.warning(
        "compiled relevance modules are older than their source (%s): running the source; "
        "reinstall (./dev does it) to compile them again",
        ", ".join(stale),
    )
    for name in COMPILED_MODULES:
        path = _source_path(name)
        loader = importlib.machinery.SourceFileLoader(name, str(path))
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)


def compiled() -> bool:
    """Whether scoring runs the mypyc-compiled modules."""
    return _state["compiled"]
