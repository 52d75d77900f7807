"""Whether the relevance hot path runs compiled, and a guard against a stale build.

setup.py compiles COMPILED_MODULES with mypyc when the package is installed (pure Python is
the fallback where no C compiler is found) and records the SHA-256 of each module's source in
SOURCES_FILE. An extension module shadows its .py file, so after an edit to one of them the
old build would keep running; `ensure_fresh` (called by worker/relevance/__init__.py before it
imports them) finds a source that is no longer the one compiled, and then loads all of them
from source, with a warning. (Hashes, not file times: an installer may write the files of a
wheel in any order.)
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import sys
from pathlib import Path

# Compiled together (they call each other natively), so loaded together: all or none.
COMPILED_MODULES = (
    "worker.relevance.matcher",
    "worker.relevance.scorer",
    "worker.relevance.engine",
)
# {module: SHA-256 of the source compiled}, written by setup.py beside this file.
SOURCES_FILE = "compiled_sources.json"

log = logging.getLogger(__name__)
_state = {"compiled": False}


def source_path(name: str) -> Path:
    return Path(__file__).with_name(name.rsplit(".", 1)[1] + ".py")


def source_digest(name: str) -> str:
    return hashlib.sha256(source_path(name).read_bytes()).hexdigest()


def _is_built(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


def _compiled_digests() -> dict[str, str]:
    try:
        found = json.loads(Path(__file__).with_name(SOURCES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def ensure_fresh() -> None:
    """Use the compiled modules only when each was compiled from the source beside it."""
    if any(name in sys.modules for name in COMPILED_MODULES):
        return  # already decided (and imported) once
    built = [name for name in COMPILED_MODULES if _is_built(name)]
    if not built:
        return  # pure Python install: nothing to decide
    compiled_from = _compiled_digests()
    stale = [
        name
        for name in COMPILED_MODULES
        if name not in built or compiled_from.get(name) != source_digest(name)
    ]
    if not stale:
        _state["compiled"] = True
        return
    log.warning(
        "compiled relevance modules were built from another source than %s: running the "
        "source; reinstall (./dev does it) to compile them again",
        ", ".join(stale),
    )
    for name in COMPILED_MODULES:
        path = source_path(name)
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
