"""The digest email looks right in a real browser: not blank, no sideways scrolling on a phone
(375 px) or a laptop (1024 px). Needs Debian's chromium; skips on a laptop without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need
from tests.routing.conftest import MakeDesk
from tests.routing.digest_fixture import digest_notification
from tests.support.browser import find_chromium, measure_layout, screenshot
from worker.digest_view import render_digest


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    need(found is not None, "chromium is not installed (apt-get install chromium)")
    assert found is not None
    return found


@pytest.mark.parametrize("width", [375, 1024])
def test_the_digest_has_no_horizontal_overflow(
    chromium: str, make_desk: MakeDesk, tmp_path: Path, width: int
) -> None:
    _, page, _ = render_digest(digest_notification(make_desk), "America/New_York")
    layout = measure_layout(chromium, page, width, tmp_path)
    assert layout.client_width == width
    assert layout.scroll_width <= layout.client_width, layout
    assert layout.text_length > 500  # the stories are there, not an empty shell


@pytest.mark.parametrize("width", [375, 1024])
def test_the_digest_screenshot_is_not_blank(
    chromium: str, make_desk: MakeDesk, tmp_path: Path, width: int
) -> None:
    _, page, _ = render_digest(digest_notification(make_desk), "America/New_York")
    shot = screenshot(chromium, page, width, 900, tmp_path)
    assert shot.width >= width
    assert shot.colours(0, width) > 20  # text, badges, links: many colours
    assert shot.ink_fraction(0, width) > 0.03


def test_the_checks_catch_a_page_that_overflows_or_is_blank(chromium: str, tmp_path: Path) -> None:
    wide = '<!DOCTYPE html><html><body><div style="width:600px">wide</div></body></html>'
    layout = measure_layout(chromium, wide, 375, tmp_path)
    assert layout.scroll_width > layout.client_width
    blank = "<!DOCTYPE html><html><body></body></html>"
    shot = screenshot(chromium, blank, 375, 300, tmp_path)
    assert shot.ink_fraction(0, 375) == 0.0
