"""Progress bars for long commands (backfill, eval): drawn on a terminal, silent in a pipe.

A bar is drawn on stderr, and only when both stdout and stderr are terminals: output piped
into a file or another program (`policywatch backfill ... | grep NVDA`) stays free of it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]


def wanted(stdout: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    """True when a person is watching: stdout and stderr are both terminals."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    return bool(out.isatty() and err.isatty())


@contextmanager
def progress(description: str, total: int | None, *, enabled: bool) -> Iterator[Advance]:
    """A bar of `total` steps (None: unknown); yields `advance(n)`. When not `enabled`,
    `advance` does nothing and nothing is drawn. The bar is cleared when the block ends."""
    if not enabled:

        def ignore(n: int = 1) -> None:
            pass

        yield ignore
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
