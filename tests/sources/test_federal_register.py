"""The Federal Register API as a source: the request built from settings, the answer read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig
from worker.errors import SourceError
from worker.models import FeedState
from worker.sources import poll_source
from worker.sources.federal_register import parse_documents

MakeFeed = Callable[..., FeedConfig]

# The shape documents.json answers with (fields[] as requested), from the API's documentation.
ENTITY_LIST_RULE = {
    "title": "Additions to the Entity List",
    "type": "Rule",
    "action": "Final rule.",
    "abstract": "In this rule, the Bureau of Industry and Security (BIS) amends the Export "
    "Administration Regulations (EAR) by adding 80 entries to the Entity List.",
    "document_number": "2025-05166",
    "html_url": "https://www.federalregister.gov/documents/2025/03/25/2025-05166/additions-to-the-entity-list",
    "publication_date": "2025-03-25",
    "agencies": [
        {
            "raw_name": "DEPARTMENT OF COMMERCE",
            "name": "Commerce Department",
            "id": 54,
            "slug": "commerce-department",
        },
        {
            "raw_name": "Bureau of Industry and Security",
            "name": "Industry and Security Bureau",
            "id": 241,
            "slug": "industry-and-security-bureau",
        },
    ],
}


def answer(*documents: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "count": len(documents),
            "description": "Documents from Industry and Security Bureau",
            "total_pages": 1,
            "results": list(documents),
        }
    ).encode()


def test_a_document_becomes_an_item_with_title_abstract_number_date_and_link() -> None:
    (item,) = parse_documents(answer(ENTITY_LIST_RULE), "bis-rules").items

    assert item.id == "https://www.federalregister.gov/d/2025-05166"
    assert item.title == "Additions to the Entity List"
    assert item.summary.startswith("In this rule, the Bureau of Industry and Security (BIS)")
    assert item.link == ENTITY_LIST_RULE["html_url"]
    assert item.published == datetime(2025, 3, 25, tzinfo=UTC)
    assert item.content == (
        "Rule: Final rule. Agencies: Commerce Department, Industry and Security Bureau. "
        "Federal Register document 2025-05166, published 2025-03-25."
    )
    assert item.source == "bis-rules"


def test_a_document_without_a_number_is_skipped_with_a_warning() -> None:
    parsed = parse_documents(answer({"title": "No number"}, ENTITY_LIST_RULE), "bis")

    assert [i.id for i in parsed.items] == ["https://www.federalregister.gov/d/2025-05166"]
    assert parsed.warnings == ["document 1 skipped: no document_number"]


def test_an_answer_with_no_matches_has_no_items() -> None:
    body = b'{"count": 0, "description": "Documents matching nothing", "total_pages": 0}'

    assert parse_documents(body, "bis").items == []


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (b'{"errors": {"conditions": {"agencies": ["nope is not a valid agency"]}}}', "refused"),
        (b"<html>Service Unavailable</html>", "not JSON"),
        (b'{"count": 3}', '"results" is missing'),
        (b"[]", "JSON list"),
    ],
)
def test_an_answer_that_is_not_a_documents_list_is_an_error(body: bytes, fault: str) -> None:
    with pytest.raises(SourceError, match=fault):
        parse_documents(body, "bis")


def test_the_request_names_the_agencies_types_and_search_term() -> None:
    feed = FeedConfig(
        name="bis",
        kind="federal_register",
        agencies="industry-and-security-bureau",
        document_types=["RULE", "PRORULE"],
        search="entity list",
    )

    parts = urlsplit(feed.url)
    query = parse_qsl(parts.query)

    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://www.federalregister.gov/api/v1/documents.json"
    )
    assert ("conditions[agencies][]", "industry-and-security-bureau") in query
    assert ("conditions[type][]", "RULE") in query and ("conditions[type][]", "PRORULE") in query
    assert ("conditions[term]", "entity list") in query
    assert ("order", "newest") in query
    assert {v for k, v in query if k == "fields[]"} >= {
        "title",
        "abstract",
        "document_number",
        "publication_date",
        "html_url",
    }


def test_a_url_with_a_query_is_taken_as_the_whole_request() -> None:
    url = "https://www.federalregister.gov/api/v1/documents.json?conditions[term]=gallium"

    assert FeedConfig(name="fr", kind="federal_register", url=url).url == url


def test_the_source_polls_the_api_conditionally_and_reads_its_answer(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    feed = FeedConfig(
        name="bis",
        kind="federal_register",
        url=feed_server.url("/api/v1/documents.json"),
        agencies=["industry-and-security-bureau"],
    )
    path = feed.url.removeprefix(feed_server.base_url)  # the server answers by path and query
    feed_server.serve(path, Reply(answer(ENTITY_LIST_RULE), etag='"fr-1"'))

    first = poll_source(feed, None, client, USER_AGENT)
    again = poll_source(feed, FeedState(feed.name, feed.url, etag=first.etag), client, USER_AGENT)

    assert [i.title for i in first.items] == ["Additions to the Entity List"]
    assert again.not_modified
    sent = feed_server.requests_to(path)
    assert "conditions[agencies][]=industry-and-security-bureau" in sent[0].path
    assert sent[-1].headers["if-none-match"] == '"fr-1"'
