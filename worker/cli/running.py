"""Commands that run policywatch or prepare it: run, serve, scheduler, worker, init, config."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from worker.cli.common import EXIT_CONFIG, EXIT_RUNTIME, build_channels, load, log, stop_on_signals
from worker.errors import ConfigError, PolicywatchError
from worker.recorder import NULL_RECORDER
from worker.starter import STARTER_CONFIG


def cmd_check_config(args: argparse.Namespace) -> int:
    from worker.relevance import Relevance

    settings = load(args)
    build_channels(settings)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    tickers = sum(len(w.tickers) for w in relevance.watchlists)
    print(
        f"ok: {args.config}: {len(settings.watchlists)} watchlists ({tickers} tickers), "
        f"{len(settings.feeds)} feeds, {len(settings.channels)} channels, state {settings.state}"
    )
    for wl in settings.watchlists:
        print(
            f"  watchlist {wl.name}: min_score {wl.min_score}, notify {', '.join(wl.notify) or '-'}"
        )
    for feed in settings.feeds:
        print(f"  feed {feed.name}: every {feed.every:g}s")
    for name, channel in settings.channels.items():
        how = f", digest {channel.schedule} {channel.timezone}" if channel.mode == "digest" else ""
        print(f"  channel {name}: {channel.type}{how}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path} exists; use --force to overwrite", file=sys.stderr)
        return EXIT_RUNTIME
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    print(f"wrote {path}; edit it, then run: policywatch check-config --config {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import build_runtime
    from worker.runtime.operations import operations, recorder_for

    settings = load(args)
    runtime = build_runtime(settings, NULL_RECORDER if args.once else recorder_for(settings))
    try:
        if args.once:
            report = runtime.run_once()
            from worker.reports import render_cycle_report

            print(render_cycle_report(report, runtime.pipeline.store))
            return 0
        stop = stop_on_signals(runtime)
        with operations(runtime, args.config):
            runtime.run_forever(stop)
        return 0
    finally:
        runtime.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from worker.errors import ConfigProblem
    from worker.runtime.embedded import build_runtime
    from worker.runtime.operations import operations, recorder_for
    from worker.serve import IngestServer, pipeline_acceptor

    settings = load(args)
    if not settings.serve.tokens:
        expected = "at least one bearer token for policywatch serve, as  name: ${ENV_VAR}"
        raise ConfigError([ConfigProblem(args.config, None, "serve.tokens", {}, expected)])
    overrides = {k: v for k, v in (("bind", args.bind), ("port", args.port)) if v is not None}
    runtime = build_runtime(settings, recorder_for(settings))
    try:
        server = IngestServer(
            settings.serve.model_copy(update=overrides),
            pipeline_acceptor(lambda: runtime.pipeline, runtime.wake),
        )
    except OSError as exc:
        runtime.close()
        where = f"{args.bind or settings.serve.bind}:{args.port or settings.serve.port}"
        raise PolicywatchError(f"cannot listen on {where}: {exc}") from exc
    stop = stop_on_signals(runtime)
    server.start()
    print(f"policywatch serve: POST {server.url}/v1/items", flush=True)
    try:
        with operations(runtime, args.config):
            runtime.run_forever(stop, poll=not args.no_poll)
        return 0
    finally:
        server.stop()
        runtime.close()


def cmd_scheduler(args: argparse.Namespace) -> int:
    from worker.runtime.scheduler import run_scheduler

    settings = load(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stepping down and releasing the leader lock", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_scheduler(settings, stop)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.runtime.nodes import run_node, run_pair

    settings = load(args)
    if args.queue is None:
        if args.concurrency is not None:
            print(
                "worker: --concurrency needs --queue; without it set"
                " distributed.poll_concurrency and distributed.deliver_concurrency",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        return run_pair(args.config, args.log_level, args.log_format)
    return run_node(settings, args.queue, args.concurrency, args.log_level)
