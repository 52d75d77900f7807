"""Compiles the relevance hot path with mypyc when the package is built (pip install).

Everything else is in pyproject.toml. The modules named in worker/relevance/native.py are
compiled to C extensions (about 1.7× as fast: BENCHMARKS.md); where that cannot be done (no
C compiler, POLICYWATCH_PURE_PYTHON=1 at install time) the package installs as pure Python
and scores the same.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

from setuptools import setup

# The setup.py commands that build; pip also runs this file only to read the metadata.
BUILDING = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}
RELEVANCE = Path("worker/relevance")


def remove_old_builds(sources_file: str) -> None:
    """An editable install builds in place: what an earlier install built there must never
    outlive it (a failed or skipped build would leave it shadowing the new source)."""
    old = [*RELEVANCE.glob("*.so"), *RELEVANCE.glob("*.pyd"), RELEVANCE / sources_file]
    old += [*Path(".").glob("policywatch_relevance__mypyc*")]
    for path in old:
        path.unlink(missing_ok=True)


def compiled_extensions() -> list[object]:
    if not BUILDING.intersection(sys.argv[1:]):
        return []
    native = runpy.run_path(str(RELEVANCE / "native.py"))
    remove_old_builds(native["SOURCES_FILE"])
    if os.environ.get("POLICYWATCH_PURE_PYTHON") == "1":
        return []
    names = native["COMPILED_MODULES"]
    paths = [name.replace(".", "/") + ".py" for name in names]
    try:
        from mypyc.build import mypycify

        extensions = mypycify(
            # Not the project's strict settings: the build environment has none of the
            # dependencies, so imported modules are followed silently, their types as Any.
            ["--config-file=", "--ignore-missing-imports", "--follow-imports=silent", *paths],
            opt_level="3",
            group_name="policywatch_relevance",
        )
    except BaseException as e:  # noqa: BLE001 - mypyc exits on errors; install pure Python
        print(f"policywatch: not compiling the relevance modules ({e!r})", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # a compiler error leaves the pure Python modules
    # What was compiled, so a later edit of a source is noticed (native.ensure_fresh).
    digests = {name: native["source_digest"](name) for name in names}
    record = RELEVANCE / native["SOURCES_FILE"]
    record.write_text(json.dumps(digests, indent=2) + "\n", "utf-8")
    return list(extensions)


setup(ext_modules=compiled_extensions())
