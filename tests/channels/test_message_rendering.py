"""The template environment, its filters, and how untrusted story text is treated."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import jinja2
import pytest
from jinja2.exceptions import SecurityError

from tests.channels.factories import make_alert, make_notification
from worker.rendering import (
    clean_text,
    datetime_utc,
    environment,
    render,
    render_notification,
    safe_link,
    slack_escape,
    summary_line,
    truncate_chars,
)

TEMPLATES = ["console.txt", "email.txt", "email.html"]


def test_control_characters_and_bidi_overrides_are_stripped_from_story_text() -> None:
    assert clean_text("Curbs\x00 on\x1b[31m chips\u202e\u2066 widen\r\nnow") == (
        "Curbs on[31m chips widen now"
    )
    assert clean_text("one\n\n two\t\x07", multiline=True) == "one\ntwo"
    assert clean_text("emoji 🇺🇸 and zero\u200dwidth joiners stay") == (
        "emoji 🇺🇸 and zero\u200dwidth joiners stay"
    )


def test_only_absolute_http_links_are_kept() -> None:
    assert safe_link("https://news.example/a?b=1") == "https://news.example/a?b=1"
    assert safe_link(" http://news.example/ ") == "http://news.example/"
    for bad in ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "/relative", ""]:
        assert safe_link(bad) == ""


@pytest.mark.parametrize("template", TEMPLATES)
def test_story_text_is_never_treated_as_template_source(template: str) -> None:
    alert = make_alert(title="{{ 7 * 7 }} {% raw %}", evidence="{{ config }}")

    text = render_notification(template, make_notification(alert))

    assert "{{ 7 * 7 }} {% raw %}" in text
    assert "49" not in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_missing_a_variable_fails_loudly(template: str) -> None:
    with pytest.raises(jinja2.UndefinedError):
        render(template)


def test_templates_cannot_reach_python_internals() -> None:
    with pytest.raises(SecurityError):
        environment().from_string("{{ x.__class__.__mro__ }}").render(x="")


def test_only_html_templates_escape_html() -> None:
    alert = make_alert(title="AT&T <b>")

    html = render_notification("email.html", make_notification(alert))
    text = render_notification("email.txt", make_notification(alert))

    assert "AT&amp;T &lt;b&gt;" in html
    assert "AT&T <b>" in text


def test_the_html_email_fits_a_375px_wide_phone() -> None:
    html = render_notification("email.html", make_notification())

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:600px" in html
    fixed_widths = [int(px) for px in re.findall(r"(?<![-\w])width:\s*(\d+)px", html)]
    assert all(px <= 375 for px in fixed_widths)
    assert not re.search(r'width="\d+"', html)


def test_slack_escape_touches_only_ampersand_and_angle_brackets() -> None:
    assert slack_escape("a & b < c > d \"e\" 'f' *g*") == "a &amp; b &lt; c &gt; d \"e\" 'f' *g*"


def test_truncate_chars_cuts_to_the_limit_with_an_ellipsis() -> None:
    assert truncate_chars("short", 10) == "short"
    assert truncate_chars("export controls widen", 10) == "export co…"
    assert len(truncate_chars("x" * 5000, 300)) == 300


def test_datetime_utc_shows_any_time_in_utc() -> None:
    paris = timezone(timedelta(hours=2))
    assert datetime_utc(datetime(2026, 3, 4, 16, 5, tzinfo=paris)) == "2026-03-04 14:05 UTC"
    assert datetime_utc(datetime(2026, 3, 4, 14, 5)) == "2026-03-04 14:05 UTC"
    assert datetime_utc(None) == ""


def test_the_summary_names_one_alert_or_counts_several() -> None:
    one = make_notification()
    many = make_notification(
        make_alert(), make_alert(ticker="AMD", event_key="e2"), make_alert(event_key="e3")
    )

    assert summary_line(one) == "NVDA 87: US tightens export curbs on AI chips"
    assert summary_line(many) == "3 alerts: NVDA, AMD"
