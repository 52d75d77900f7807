"""SEC EDGAR: current filings by form, a company's filings by CIK, and the checked User-Agent."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig, parse_settings
from worker.errors import ConfigError
from worker.pipeline import Pipeline
from worker.sources import poll_source
from worker.store.sqlite import SqliteStore

CONTACT = "Acme Research ops@acme.example"

# The shape of EDGAR's company feed (browse-edgar?action=getcompany&output=atom): the company
# in <company-info>, entries titled by form only, one filing per entry.
COMPANY_FEED = b"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<feed xmlns="http://www.w3.org/2005/Atom">
<author><email>webmaster@sec.gov</email><name>Webmaster</name></author>
<company-info>
  <cik>0001045810</cik>
  <conformed-name>NVIDIA CORP</conformed-name>
  <state-location>CA</state-location>
</company-info>
<title>NVIDIA CORP  (0001045810)</title>
<updated>2025-04-16T17:30:00-04:00</updated>
<entry>
  <category label="form type" scheme="https://www.sec.gov/" term="8-K" />
  <content type="text/xml">
    <accession-number>0001045810-25-000082</accession-number>
    <filing-date>2025-04-15</filing-date>
    <filing-type>8-K</filing-type>
    <form-name>Current report</form-name>
    <items-desc>items 2.06 and 8.01</items-desc>
  </content>
  <id>urn:tag:sec.gov,2008:accession-number=0001045810-25-000082</id>
  <link rel="alternate" type="text/html"
    href="https://www.sec.gov/Archives/edgar/data/1045810/000104581025000082/" />
  <summary type="html">&lt;b&gt;Filed:&lt;/b&gt; 2025-04-15 &lt;b&gt;AccNo:&lt;/b&gt;
    0001045810-25-000082 &lt;br&gt;Item 2.06: Material Impairments&lt;br&gt;Item 8.01:
    Other Events</summary>
  <title>8-K  - Current report</title>
  <updated>2025-04-15T16:11:08-04:00</updated>
</entry>
<entry>
  <category label="form type" scheme="https://www.sec.gov/" term="4" />
  <id>urn:tag:sec.gov,2008:accession-number=0001045810-25-000080</id>
  <link rel="alternate" type="text/html"
    href="https://www.sec.gov/Archives/edgar/data/1045810/000104581025000080/" />
  <summary type="html">&lt;b&gt;Filed:&lt;/b&gt; 2025-04-14</summary>
  <title>4  - Statement of changes in beneficial ownership of securities</title>
  <updated>2025-04-14T18:00:00-04:00</updated>
</entry>
<entry>
  <category label="form type" scheme="https://www.sec.gov/" term="10-K/A" />
  <id>urn:tag:sec.gov,2008:accession-number=0001045810-25-000050</id>
  <link rel="alternate" type="text/html"
    href="https://www.sec.gov/Archives/edgar/data/1045810/000104581025000050/" />
  <summary type="html">&lt;b&gt;Filed:&lt;/b&gt; 2025-03-20</summary>
  <title>10-K/A  - [Amend] Annual report</title>
  <updated>2025-03-20T09:00:00-04:00</updated>
</entry>
</feed>
"""


def edgar_feed(url: str, **fields: object) -> FeedConfig:
    return FeedConfig(name=str(fields.pop("name", "edgar")), kind="edgar", url=url, **fields)


def test_a_current_filings_feed_asks_edgar_for_one_form_as_atom() -> None:
    feed = FeedConfig(name="8k", kind="edgar", forms=["8-K"])

    query = parse_qs(urlsplit(feed.url).query, keep_blank_values=True)

    assert feed.url.startswith("https://www.sec.gov/cgi-bin/browse-edgar?")
    assert query["action"] == ["getcurrent"]
    assert query["type"] == ["8-K"]
    assert query["output"] == ["atom"]


def test_a_company_feed_asks_for_the_padded_cik_and_all_forms_when_several_are_wanted() -> None:
    feed = FeedConfig(name="nvda", kind="edgar", cik="1045810", forms=["8-K", "10-K", "10-Q"])

    query = parse_qs(urlsplit(feed.url).query, keep_blank_values=True)

    assert query["action"] == ["getcompany"]
    assert query["CIK"] == ["0001045810"]
    assert query["type"] == [""]


def test_the_real_current_filings_page_keeps_only_the_forms_asked_for(
    shared_data: Path, feed_server: FeedServer, client: httpx.Client
) -> None:
    body = (shared_data / "feeds/real/sec_edgar_current_filings_2025-12-12.atom.xml").read_bytes()
    feed = edgar_feed(feed_server.url("/cgi-bin/browse-edgar"), forms=["8-K", "10-K"])
    feed_server.serve(feed.url.removeprefix(feed_server.base_url), Reply(body))

    items = poll_source(feed, None, client, CONTACT).items

    forms = {item.title.split(" - ")[0] for item in items}
    assert forms == {"8-K", "10-K"}
    assert len(items) == 26
    assert items[0].title == "8-K - Merus N.V. (0001651311) (Filer)"


def test_a_company_feed_names_the_company_and_keeps_amendments_of_wanted_forms(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    feed = edgar_feed(feed_server.url("/edgar"), cik="1045810", forms=["8-K", "10-K"])
    feed_server.serve(feed.url.removeprefix(feed_server.base_url), Reply(COMPANY_FEED))

    items = poll_source(feed, None, client, CONTACT).items

    assert [i.title for i in items] == [
        "NVIDIA CORP: 8-K - Current report",
        "NVIDIA CORP: 10-K/A - [Amend] Annual report",
    ]
    assert "Item 2.06: Material Impairments" in items[0].summary
    assert items[0].id == "urn:tag:sec.gov,2008:accession-number=0001045810-25-000082"


CONFIG = """
watchlists: [{name: semis, tickers: [NVDA]}]
feeds:
  - name: nvda-filings
    kind: edgar
    cik: "1045810"
    forms: [8-K]
"""


def test_an_edgar_feed_needs_a_user_agent_with_contact_details() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(CONFIG, "pw.yaml", {})

    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("feeds[0].kind", 5)
    assert "edgar_user_agent" in problem.expected and "contact" in problem.expected


@pytest.mark.parametrize("agent", ["Acme Research", "policywatch/0.1", "ops at acme"])
def test_an_edgar_user_agent_without_an_email_or_url_is_refused(agent: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(CONFIG + f"edgar_user_agent: {agent}\n", "pw.yaml", {})

    (problem,) = caught.value.problems
    assert (problem.path, problem.value) == ("edgar_user_agent", agent)


@pytest.mark.parametrize(
    "agent", ["Acme Research ops@acme.example", "Acme Research (+https://acme.example/contact)"]
)
def test_an_edgar_user_agent_with_an_email_or_url_is_accepted(agent: str) -> None:
    settings = parse_settings(CONFIG + f'edgar_user_agent: "{agent}"\n', "pw.yaml", {})

    assert settings.edgar_user_agent == agent


def test_a_config_without_edgar_feeds_needs_no_edgar_user_agent() -> None:
    config = "watchlists: [{name: s, tickers: [NVDA]}]\nfeeds: [{name: w, url: w.xml}]\n"

    assert parse_settings(config, "pw.yaml", {}).edgar_user_agent == ""


def test_edgar_requests_carry_the_edgar_user_agent_and_other_feeds_the_usual_one(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path
) -> None:
    feed_server.serve("/edgar?x=1", Reply(COMPANY_FEED))
    feed_server.serve("/news.xml", Reply(b"<rss version='2.0'><channel/></rss>"))
    config = f"""
watchlists: [{{name: semis, tickers: [NVDA]}}]
user_agent: "{USER_AGENT}"
edgar_user_agent: "{CONTACT}"
feeds:
  - {{name: filings, kind: edgar, url: "{feed_server.url("/edgar?x=1")}"}}
  - {{name: news, url: "{feed_server.url("/news.xml")}"}}
"""
    settings = parse_settings(config, str(tmp_path / "pw.yaml"), {})
    pipeline = Pipeline(settings, SqliteStore(tmp_path / "state.db"), {})

    for feed in settings.feeds:
        pipeline.poll_feed(feed, client)

    assert feed_server.requests_to("/edgar?x=1")[0].headers["user-agent"] == CONTACT
    assert feed_server.requests_to("/news.xml")[0].headers["user-agent"] == USER_AGENT
