"""SEC EDGAR Atom feeds: current filings by form type, and one company's filings by CIK.

The request is built from the feed's `forms` and `cik` in config.py and sent with the
configured `edgar_user_agent` (SEC answers 403 to requests that name no contact). The body is
read as Atom by feed.parse_feed; this module then

- keeps only the filings of the feed's `forms` (a form also matches its amendments: 8-K
  keeps 8-K/A), which matters when several forms share one unfiltered feed;
- names the company in each title of a company feed ("NVIDIA CORP: 8-K - Current report"),
  since EDGAR's own entry titles there carry only the form.

Titles on EDGAR start with the form type ("8-K - Merus N.V. (0001651311) (Filer)"), which is
where the form is read from.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace

from worker.config import FeedConfig
from worker.models import Item
from worker.sources.items import ParsedItems
from worker.sources.text import clean_text

_CONFORMED_NAME = re.compile(rb"<conformed-name>([^<]{1,300})</conformed-name>", re.I)


def form_of(item: Item) -> str:
    """The form type an EDGAR entry's title starts with ("8-K", "10-K/A", "S-8 POS")."""
    return item.title.split(" - ", 1)[0].strip()


def wants_form(form: str, forms: list[str]) -> bool:
    """True when `form` is one of `forms` or an amendment of one (no `forms`: every form)."""
    if not forms:
        return True
    form = form.upper()
    return any(form == f.upper() or form.startswith(f.upper() + "/") for f in forms)


def company_of(body: bytes) -> str:
    """The company a company feed is about, from its <company-info>; "" if none."""
    found = _CONFORMED_NAME.search(body)
    if not found:
        return ""
    return clean_text(html.unescape(found.group(1).decode("latin-1")))


def refine_filings(parsed: ParsedItems, feed: FeedConfig, body: bytes) -> ParsedItems:
    """Keep the filings of `feed.forms` and name the company in a company feed's titles."""
    company = company_of(body) if feed.cik else ""
    items = []
    for item in parsed.items:
        if not wants_form(form_of(item), feed.forms):
            continue
        if company and company.lower() not in item.title.lower():
            item = replace(item, title=f"{company}: {item.title}")
        items.append(item)
    return ParsedItems(items, parsed.warnings)
