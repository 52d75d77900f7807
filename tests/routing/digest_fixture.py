"""A realistic digest notification for rendering tests: the H20, AMD and Entity List stories
with their rewrites, plus a story built to break layouts (long words, a long link)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tests.routing.conftest import MakeDesk
from tests.routing.stories import ITEMS
from worker.models import Notification

PM = {"pm": "mode: digest\nschedule: daily 08:00\ntimezone: America/New_York"}
UNBREAKABLE = "Semiconductor" + "Manufacturing" * 9  # 130 characters without a break
LONG_LINK = "https://news.example.com/" + "a" * 300 + "?utm_source=rss&x=<b>"


def digest_notification(make_desk: MakeDesk) -> Notification:
    """Run the stories through a digest channel and return the digest it sends."""
    desk = make_desk(PM, start=datetime(2025, 4, 15, 18, 0, tzinfo=UTC))
    desk.deliver()
    awkward = replace(
        ITEMS["gtw-el"],
        title=f"US adds {UNBREAKABLE} units <script>alert(1)</script> to export blacklist",
        link=LONG_LINK,
        source="A Very Long Outlet Name That Goes On " * 3,
    )
    for item_id in ("asia-h20", "wire-h20", "gtw-h20", "desk-h20", "pulse-h20", "wire-amd"):
        desk.clock.set(max(desk.clock.now, ITEMS[item_id].published))  # type: ignore[type-var]
        desk.feed(ITEMS[item_id])
    desk.feed(replace(awkward, published=None))
    desk.clock.set(datetime(2025, 4, 16, 12, 0, tzinfo=UTC))
    desk.deliver()
    [digest] = desk.sent("pm")
    return digest
