"""Whether the relevance hot path runs compiled, and a guard against a stale build.

setup.py compiles COMPILED_MODULES with mypyc when the package is installed (pure Python is
the fallback where no C compiler is found) into one shared library (GROUP) and a small module
for each; once all of them are built, it records the SHA-256 of the sources they were built
from, and of the modules whose types they were compiled against, in SOURCES_FILE. An
extension module shadows its .py file, so after an edit the old build would keep running;
`ensure_fresh` (called by worker/relevance/__init__.py before it imports them) finds a source
that is no longer the one compiled, or a build that is not whole, and then loads all of them
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
# The project modules they import: compiled code checks the types it was built against.
BUILT_AGAINST = (
    "worker.relevance.directory",
    "worker.relevance.lexicon",
    "worker.relevance.rules",
    "worker.models",
    "worker.config",
    "worker.errors",
)
# mypyc's shared library of the compiled modules (a top-level module).
GROUP = "policywatch_relevance"
# {module: SHA-256 of its source at the build}, written by setup.py beside this file.
SOURCES_FILE = "compiled_sources.json"

log = logging.getLogger(__name__)
_state = {"compiled": False}
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding worker/


def source_path(name: str) -> Path:
    return _PACKAGE_ROOT.joinpath(*name.split(".")).with_suffix(".py")


def source_digests() -> dict[str, str]:
    """What a build records: the digest of every source it depends on."""
    return {
        name: hashlib.sha256(source_path(name).read_bytes()).hexdigest()
        for name in (*COMPILED_MODULES, *BUILT_AGAINST)
    }


def _is_built(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


def _recorded_digests() -> dict[str, str]:
    try:
        found = json.loads(Path(__file__).with_name(SOURCES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _why_not_compiled() -> str | None:
    """None when the whole build is there and made from the sources beside it."""
    missing = [n for n in (f"{GROUP}__mypyc", *COMPILED_MODULES) if not _is_built(n)]
    if missing:
        return "the build is not whole (no " + ", ".join(missing) + ")"
    recorded = _recorded_digests()
    changed = [n for n, digest in source_digests().items() if recorded.get(n) != digest]
    if changed:
        return "it was built from other sources than " + ", ".join(changed) + " now are"
    return None


def ensure_fresh() -> None:
    """Use the compiled modules only when the whole build is there and up to date."""
    if any(name in sys.modules for name in COMPILED_MODULES):
        return  # already decided (and imported) once
    if not any(_is_built(name) for name in COMPILED_MODULES):
        return  # pure Python install: nothing to decide
    why = _why_not_compiled()
    if why is None:
        _state["compiled"] = True
        return
    use_source(why)


def use_source(why: str) -> None:
    """Load the compiled modules from their source instead, saying why."""
    _state["compiled"] = False
    log.warning(
        "not using the compiled relevance modules: %s; running the source. Reinstall "
        "(./dev does it) to compile them again",
        why,
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
