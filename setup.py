"""Compiles the relevance hot path with mypyc when the package is built (pip install).

Everything else is in pyproject.toml. The modules named in worker/relevance/native.py are
compiled to C extensions (about 1.7× as fast: BENCHMARKS.md); where that cannot be done (no
C compiler, POLICYWATCH_PURE_PYTHON=1 at install time) the package installs as pure Python
and scores the same. Pip shows what happened here with `pip install -v`.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The setup.py commands that build; pip also runs this file only to read the metadata.
BUILDING = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}
EDITABLE = {"editable_wheel", "develop"}  # these build in place, beside the sources
RELEVANCE = Path("worker/relevance")
NATIVE = runpy.run_path(str(RELEVANCE / "native.py"))


def remove_in_place_builds() -> None:
    """What an earlier editable install built beside the sources: it must not outlive a new
    install that builds nothing (it would shadow the source)."""
    old = [*RELEVANCE.glob("*.so"), *RELEVANCE.glob("*.pyd"), RELEVANCE / NATIVE["SOURCES_FILE"]]
    old += [*Path(".").glob(f"{NATIVE['GROUP']}__mypyc*")]
    for path in old:
        path.unlink(missing_ok=True)


class BuildCompiled(build_ext):
    """Builds the compiled modules all or none (each is optional, so a compiler error does
    not fail the install), then records the sources they were built from."""

    def run(self) -> None:
        outputs = [Path(self.get_ext_fullpath(e.name)) for e in self.extensions]
        for path in outputs:
            path.unlink(missing_ok=True)  # a failed compile must not leave an older build
        super().run()
        if not outputs:
            return
        if not all(path.exists() for path in outputs):
            for path in outputs:
                path.unlink(missing_ok=True)
            print("policywatch: not all relevance modules compiled: pure Python", file=sys.stderr)
            return
        folder = RELEVANCE if self.inplace else Path(self.build_lib) / RELEVANCE
        folder.mkdir(parents=True, exist_ok=True)
        record = json.dumps(NATIVE["source_digests"](), indent=2) + "\n"
        (folder / NATIVE["SOURCES_FILE"]).write_text(record, "utf-8")


def compiled_extensions() -> list[object]:
    commands = set(sys.argv[1:])
    if not BUILDING & commands:
        return []
    reason = ""
    if os.environ.get("POLICYWATCH_PURE_PYTHON") == "1":
        reason = "POLICYWATCH_PURE_PYTHON=1"
    else:
        paths = [name.replace(".", "/") + ".py" for name in NATIVE["COMPILED_MODULES"]]
        try:
            from mypyc.build import mypycify

            extensions = mypycify(
                # Not the project's strict settings: the build environment has none of the
                # dependencies, so imported modules are followed silently, their types as Any.
                ["--config-file=", "--ignore-missing-imports", "--follow-imports=silent", *paths],
                opt_level="3",
                group_name=NATIVE["GROUP"],
            )
        except (Exception, SystemExit) as e:  # mypyc exits on errors: install pure Python
            reason = repr(e)
    if reason:
        print(f"policywatch: not compiling the relevance modules ({reason})", file=sys.stderr)
        if EDITABLE & commands:
            remove_in_place_builds()
        return []
    for extension in extensions:
        extension.optional = True  # a compiler error leaves the pure Python modules
    return list(extensions)


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": BuildCompiled})
