"""The `policywatch` command: parses arguments, calls the runtime, prints. No logic beyond that."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from worker import __version__
from worker.cli.alerting import cmd_digest, cmd_silence
from worker.cli.common import (
    DEFAULT_CONFIG,
    EXIT_CONFIG,
    EXIT_RUNTIME,
    parse_duration,
    parse_when,
    setup_cli_logging,
)
from worker.cli.delivery import cmd_channels, cmd_deliveries, cmd_send_test, cmd_status
from worker.cli.running import (
    cmd_check_config,
    cmd_init,
    cmd_run,
    cmd_scheduler,
    cmd_serve,
    cmd_worker,
)
from worker.cli.scoring import cmd_backfill, cmd_eval, cmd_explain, cmd_score
from worker.errors import ConfigError, PolicywatchError
from worker.logs import LOG_FORMATS, redact
from worker.models import DeliveryState


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policywatch",
        description="Watch the news for export-control events and alert the desks that care.",
    )
    parser.add_argument("--version", action="version", version=f"policywatch {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="human",
        help="human-readable lines (default) or one JSON object per line; both on stderr",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="YAML config file")
        return p

    p = with_config(
        sub.add_parser("score", help="score JSON Lines items; print one JSON line each")
    )
    p.add_argument("input", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.set_defaults(func=cmd_score)

    p = with_config(sub.add_parser("explain", help="show how items' scores were built"))
    p.add_argument("input", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.add_argument("--id", help="only the item with this id")
    p.set_defaults(func=cmd_explain)

    p = with_config(sub.add_parser("check-config", help="validate a config file"))
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("init", help="write a commented starter config")
    p.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)

    p = with_config(sub.add_parser("run", help="poll, score, alert and deliver"))
    p.add_argument("--once", action="store_true", help="one full cycle, then exit")
    p.set_defaults(func=cmd_run)

    p = with_config(
        sub.add_parser("serve", help="accept items over HTTP (POST /v1/items), score, deliver")
    )
    p.add_argument("--bind", help="address to listen on (default: serve.bind, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: serve.port, 8080)")
    p.add_argument("--no-poll", action="store_true", help="do not poll the configured feeds")
    p.set_defaults(func=cmd_serve)

    p = with_config(sub.add_parser("deliveries", help="list or retry deliveries"))
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("id", nargs="?", help="delivery id (for retry)")
    p.add_argument("--all-dead", action="store_true", help="retry every dead delivery")
    p.add_argument("--state", action="append", choices=[s.value for s in DeliveryState])
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_deliveries)

    p = sub.add_parser("eval", help="precision and recall of alerts against a labelled set")
    p.add_argument("input", help="labelled JSON Lines (items plus policy_event and relevant)")
    p.add_argument(
        "--config", "-c", default=None, help="YAML config (default: the 20-ticker evaluation list)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of a report")
    p.add_argument(
        "--subset",
        choices=["all", "tune", "held-out", "odd", "even"],
        default="all",
        help="all items, the tuning two thirds / held-out third (split by id hash), "
        "or the items whose id ends in an odd / even number",
    )
    p.set_defaults(func=cmd_eval)

    p = with_config(sub.add_parser("status", help="feeds, channels, deliveries, scheduler"))
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=cmd_status)

    p = with_config(
        sub.add_parser(
            "backfill", help="replay a feed's items or an archive through scoring; send nothing"
        )
    )
    p.add_argument("feed", nargs="?", help="a configured feed's name")
    p.add_argument("--jsonl", metavar="ARCHIVE", help="read items from a JSON Lines archive")
    p.add_argument("--since", metavar="DATE", help="only items published on or after DATE")
    p.add_argument("--until", metavar="DATE", help="only items published before DATE")
    p.add_argument(
        "--min-score", type=int, metavar="N", help="try this threshold on every watchlist"
    )
    p.add_argument(
        "--near", type=int, default=0, metavar="N", help="also show matches N points short"
    )
    p.add_argument("--json", action="store_true", help="one JSON line per would-be alert")
    p.set_defaults(func=cmd_backfill)

    p = with_config(sub.add_parser("silence", help="mute alerts for a while; list, show, expire"))
    p.add_argument("action", nargs="?", choices=["add", "list", "show", "expire"], default="list")
    p.add_argument("id", nargs="?", help="silence id (for show, expire)")
    p.add_argument("--ticker", action="append", help="mute this ticker (repeatable)")
    p.add_argument("--watchlist", action="append", help="mute this watchlist")
    p.add_argument("--channel", action="append", help="mute this channel")
    p.add_argument("--for", dest="duration", type=parse_duration, help="how long: 30m, 4h, 2d")
    p.add_argument("--until", type=parse_when, help="until this time (ISO 8601; UTC if no offset)")
    p.add_argument("--start", type=parse_when, help="start later than now (ISO 8601)")
    p.add_argument("--comment", default="", help="why (required for add)")
    p.add_argument("--by", default="", help="who (default: the current user)")
    p.add_argument("--all", action="store_true", help="list: include expired silences")
    p.set_defaults(func=cmd_silence)

    p = with_config(sub.add_parser("digest", help="list digest channels; preview or send one"))
    p.add_argument("action", nargs="?", choices=["list", "preview", "send"], default="list")
    p.add_argument("channel", nargs="?", help="digest channel (for preview, send)")
    p.add_argument("--html", action="store_true", help="preview: print the HTML part")
    p.set_defaults(func=cmd_digest)
    p = with_config(
        sub.add_parser("send-test", help="send a sample alert to a channel; print the answer")
    )
    p.add_argument("channel", help="a channel name from the config")
    p.add_argument("--long", action="store_true", help="a sample beyond the target's limits")
    p.set_defaults(func=cmd_send_test)

    p = with_config(sub.add_parser("channels", help="list channels, or enable a disabled one"))
    p.add_argument("action", nargs="?", choices=["list", "enable"], default="list")
    p.add_argument("name", nargs="?", help="channel name (for enable)")
    p.set_defaults(func=cmd_channels)

    p = with_config(
        sub.add_parser("scheduler", help="distributed: queue polls and sweeps (leader only)")
    )
    p.set_defaults(func=cmd_scheduler)

    p = with_config(
        sub.add_parser("worker", help="distributed: a Celery worker for polls and deliveries")
    )
    p.add_argument("--queue", choices=["poll", "deliver"], help="run one node for this queue only")
    p.add_argument("--concurrency", type=int, help="processes for that queue's node")
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_cli_logging(args.log_level, args.log_format)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"config error ({len(exc.problems)} problems):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except PolicywatchError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:
        return 0
