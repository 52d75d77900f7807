"""The compiled relevance modules (mypyc, see setup.py) score exactly as their source does.

The install compiles the modules worker/relevance/native.py names; an extension module shadows
its .py file, so a stale build must not keep running after an edit (native.ensure_fresh).
Each check runs the other variant in a subprocess on a copy of the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.relevance.conftest import BLIND3_SET, BLIND_SET, DEV_SET
from worker.relevance import compiled
from worker.relevance.native import COMPILED_MODULES, GROUP

REPO = Path(__file__).resolve().parents[2]

# Prints one JSON line per labelled story: everything explain says about it.
SCRIPT = """
import json, sys
from worker.evaluation import evaluation_watchlist
from worker.relevance import Relevance, compiled
from worker.sources.items import item_from_mapping
relevance = Relevance([evaluation_watchlist()])
print(json.dumps({"compiled": compiled()}))
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        e = relevance.explain(item_from_mapping(json.loads(line), source="t"))
        print(json.dumps([e.hits, e.event.score, e.event.parts,
              [[list(h), why] for h, why in e.event.notes],
              [[t, a.score, a.terms, a.evidence, a.parts] for t, a in e.tickers],
              [[m.ticker, m.score, m.alert, m.terms, m.evidence] for m in e.scored.matches]],
              ensure_ascii=False))
"""
SETS = [str(DEV_SET), str(BLIND_SET), str(BLIND3_SET)]


def built_files() -> list[Path]:
    """The extension modules the install compiled (empty for a pure Python install)."""
    found = list(REPO.glob(f"{GROUP}__mypyc*.so"))
    for name in COMPILED_MODULES:
        folder = REPO / Path(*name.split(".")[:-1])
        found += folder.glob(name.rsplit(".", 1)[1] + ".*.so")
    return found


def copy_package(to: Path, with_builds: bool) -> Path:
    """The worker package under `to` (mtimes kept), with or without the compiled modules."""
    shutil.copytree(REPO / "worker", to / "worker", ignore=shutil.ignore_patterns("__pycache__"))
    if not with_builds:
        for so in (to / "worker").rglob("*.so"):
            so.unlink()
    else:
        for so in REPO.glob(f"{GROUP}__mypyc*.so"):
            shutil.copy2(so, to / so.name)
    return to


def run_variant(root: Path) -> tuple[bool, list[str], str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *SETS],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    return json.loads(first)["compiled"], rest, done.stderr


def test_the_install_compiled_the_hot_path() -> None:
    # CI runs on a machine with a C compiler: a build that silently fell back to pure Python
    # would halve scoring throughput (BENCHMARKS.md).
    need(bool(built_files()), "the mypyc-compiled relevance modules (a C compiler at install)")
    assert compiled()


def test_compiled_and_pure_python_score_alike(tmp_path: Path) -> None:
    need(bool(built_files()), "the mypyc-compiled relevance modules (a C compiler at install)")
    pure, lines, _ = run_variant(copy_package(tmp_path, with_builds=False))
    native, ours, _ = run_variant(REPO)
    assert native and not pure
    assert len(lines) == len(ours) > 600
    different = [i for i, (a, b) in enumerate(zip(lines, ours, strict=True)) if a != b]
    assert not different, f"{len(different)} stories differ, first: {lines[different[0]]}"


def test_a_stale_build_runs_the_source_and_says_so(tmp_path: Path) -> None:
    need(bool(built_files()), "the mypyc-compiled relevance modules (a C compiler at install)")
    root = copy_package(tmp_path, with_builds=True)
    fresh, _, _ = run_variant(root)
    assert fresh  # the copy with its builds runs compiled
    source = root / "worker" / "relevance" / "scorer.py"
    source.write_text(source.read_text("utf-8") + "\n# edited after the build\n", "utf-8")
    stale, lines, stderr = run_variant(root)
    assert not stale
    assert "built from other sources than worker.relevance.scorer now are" in stderr
    assert len(lines) > 600


@pytest.mark.parametrize("name", COMPILED_MODULES)
def test_every_compiled_module_has_its_source_beside_it(name: str) -> None:
    assert (REPO / Path(*name.split("."))).with_suffix(".py").is_file()


def test_a_build_whose_shared_library_does_not_load_runs_the_source(tmp_path: Path) -> None:
    # A compile that left a broken shared library beside the small modules that load it:
    # scoring must not fail to import.
    need(bool(built_files()), "the mypyc-compiled relevance modules (a C compiler at install)")
    root = copy_package(tmp_path, with_builds=True)
    for shared in root.glob(f"{GROUP}__mypyc*"):
        shared.write_bytes(b"not a shared library")
    compiled_now, lines, stderr = run_variant(root)
    assert not compiled_now
    assert "the build does not load" in stderr
    assert len(lines) > 600


def test_a_build_without_its_shared_library_is_not_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.relevance import native

    monkeypatch.setattr(native, "_is_built", lambda name: not name.endswith("__mypyc"))
    why = native._why_not_compiled()
    assert why is not None and "the build is not whole" in why


def test_a_changed_module_the_build_depends_on_also_makes_it_stale(tmp_path: Path) -> None:
    need(bool(built_files()), "the mypyc-compiled relevance modules (a C compiler at install)")
    root = copy_package(tmp_path, with_builds=True)
    models = root / "worker" / "models.py"
    models.write_text(models.read_text("utf-8") + "\n# edited after the build\n", "utf-8")
    compiled_now, _, stderr = run_variant(root)
    assert not compiled_now and "worker.models" in stderr
