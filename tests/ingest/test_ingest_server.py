"""POST /v1/items: good pushes reach the pipeline; bad ones get the right 4xx, store nothing,
and leave the server up."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.ingest.conftest import OTHER_TOKEN, TOKEN, Ingest
from worker.config import parse_settings
from worker.errors import ConfigError

ALERTING = {
    "id": "reuters-h20",
    "title": "US adds new export controls on Nvidia H20 chips to China, Commerce Department says",
    "summary": "Nvidia expects a $5.5 billion charge.",
    "link": "https://news.example.com/h20",
    "published": "2025-04-15T21:05:00Z",
}
QUIET = {"id": "weather-1", "title": "Sunny spells in Lisbon this weekend"}


def post(
    ingest: Ingest,
    body: bytes | str,
    content_type: str = "application/json",
    token: str | None = TOKEN,
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers.update(ingest.auth(token))
    data = body.encode() if isinstance(body, str) else body
    return ingest.http.post(ingest.url, content=data, headers=headers)


def test_an_item_posted_with_a_good_token_is_scored_stored_and_delivered(ingest: Ingest) -> None:
    answer = post(ingest, json.dumps(ALERTING))
    sent = ingest.pipeline.deliver_due()

    assert answer.status_code == 202
    assert answer.json() == {"received": 1, "new": 1, "alerts": 1, "deliveries": 1}
    assert ingest.stored == 1 and ingest.wakes == [1]
    assert [o.state for o in sent] == ["sent"]
    line = json.loads(ingest.outbox.read_text().splitlines()[0])
    assert (line["ticker"], line["title"]) == ("NVDA", ALERTING["title"])
    assert line["source"] == "push:desk"


def test_an_array_and_json_lines_are_accepted_and_repeats_are_not_new(ingest: Ingest) -> None:
    as_array = post(ingest, json.dumps([ALERTING, QUIET]))
    lines = "\n".join(json.dumps(i) for i in (ALERTING, QUIET, {"id": "n3", "title": "x"}))
    as_lines = post(ingest, lines + "\n", content_type="application/x-ndjson")

    assert as_array.json()["received"] == 2 and as_array.json()["new"] == 2
    assert as_lines.json() == {"received": 3, "new": 1, "alerts": 0, "deliveries": 0}
    assert ingest.stored == 3


def test_each_token_names_its_client_and_the_items_own_source_wins(ingest: Ingest) -> None:
    post(ingest, json.dumps({**ALERTING, "source": "Reuters"}), token=OTHER_TOKEN)
    post(ingest, json.dumps({**ALERTING, "id": "b", "title": ALERTING["title"] + "!"}))
    ingest.pipeline.deliver_due()

    sources = {json.loads(x)["source"] for x in ingest.outbox.read_text().splitlines()}
    assert sources == {"Reuters", "push:desk"}


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "send Authorization: Bearer <token>"),
        ({"Authorization": "Basic ZGVzazpwdw=="}, "send Authorization: Bearer <token>"),
        ({"Authorization": "Bearer"}, "send Authorization: Bearer <token>"),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "the bearer token is not valid"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "the bearer token is not valid"),
        (
            {"Authorization": "Bearer tok_0000000000000000000000000"},
            "the bearer token is not valid",
        ),
    ],
    ids=["no-token", "basic", "empty", "prefix", "longer", "wrong"],
)
def test_no_token_or_a_wrong_token_is_401_and_stores_nothing(
    ingest: Ingest, headers: dict[str, str], why: str
) -> None:
    answer = ingest.http.post(
        ingest.url,
        content=json.dumps(ALERTING),
        headers={"Content-Type": "application/json", **headers},
    )

    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized", "detail": why}
    assert answer.headers["www-authenticate"] == 'Bearer realm="policywatch"'
    assert ingest.stored == 0


def test_the_bearer_scheme_is_case_insensitive(ingest: Ingest) -> None:
    answer = ingest.http.post(
        ingest.url,
        content=json.dumps(ALERTING),
        headers={"Content-Type": "application/json", "Authorization": f"bearer {TOKEN}"},
    )

    assert answer.status_code == 202


def raw_request(ingest: Ingest, head: str, body: bytes = b"", wait_s: float = 5) -> bytes:
    """Send a hand-made request; return whatever the server answers before closing."""
    host, port = ingest.server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while chunk := conn.recv(65_536):
            answer += chunk
        return answer


def test_a_100_mb_body_is_refused_with_413_before_it_is_read(ingest: Ingest) -> None:
    head = (
        "POST /v1/items HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"Authorization: Bearer {TOKEN}\nContent-Length: 100000000\n"
    )
    started = time.monotonic()

    answer = raw_request(ingest, head, body=b"[" + b" " * 60_000)

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"Connection: close" in rest
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"] == "too_large"
    assert time.monotonic() - started < 2
    assert ingest.stored == 0


def test_a_100_mb_body_sent_in_full_by_a_client_gets_413_and_the_server_stays_up(
    ingest: Ingest,
) -> None:
    def hundred_megabytes() -> object:
        chunk = b" " * 1_000_000
        for _ in range(100):
            yield chunk

    try:
        answer = ingest.http.post(
            ingest.url,
            content=hundred_megabytes(),  # type: ignore[arg-type]
            headers={
                **ingest.auth(),
                "Content-Type": "application/json",
                "Content-Length": "100000000",
            },  # fmt: skip
            timeout=10,
        )
        assert answer.status_code == 413
    except httpx.TransportError:
        pass  # the server closed the connection while the client was still sending: allowed

    assert post(ingest, json.dumps(ALERTING)).status_code == 202
    assert ingest.stored == 1


@pytest.mark.parametrize(
    ("body", "content_type", "fault"),
    [
        ('{"id": "a", "title": ', "application/json", "the body is not valid JSON"),
        ("not json at all", "application/json", "the body is not valid JSON"),
        ('"just a string"', "application/json", "the body is a JSON str"),
        (
            '{"id": "a", "title": "ok"}\n{oops}\n',
            "application/x-ndjson",
            "line 2 is not valid JSON",
        ),
        (b"\xff\xfe{}", "application/json", "not UTF-8"),
        ("[" * 50_000, "application/json", "nested too deeply"),
    ],
)
def test_invalid_json_is_422_and_stores_nothing(
    ingest: Ingest, body: str | bytes, content_type: str, fault: str
) -> None:
    answer = post(ingest, body, content_type=content_type)

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_json"
    assert fault in answer.json()["detail"]
    assert ingest.stored == 0


def test_a_missing_field_is_422_naming_the_item_and_field_and_stores_no_item_at_all(
    ingest: Ingest,
) -> None:
    bad = [ALERTING, {"id": "no-title"}, {"title": "no id"}, {"id": "x", "title": 7}, "str"]

    answer = post(ingest, json.dumps(bad))

    assert answer.status_code == 422
    assert answer.json() == {
        "error": "invalid_items",
        "detail": "4 of 5 items are not valid; nothing was stored",
        "problems": [
            {"index": 1, "problem": "title: missing; expected a non-empty string"},
            {"index": 2, "problem": "id: missing; expected a non-empty string"},
            {"index": 3, "problem": "title: got 7; expected a string"},
            {"index": 4, "problem": "got a JSON str; expected an object"},
        ],
    }
    assert ingest.stored == 0


def test_a_bad_json_lines_item_is_named_by_its_line(ingest: Ingest) -> None:
    body = json.dumps(QUIET) + "\n\n" + json.dumps({"id": "x", "published": "soon"}) + "\n"

    answer = post(ingest, body, content_type="application/jsonl")

    (problem,) = answer.json()["problems"]
    assert problem["line"] == 3 and problem["index"] == 1
    assert problem["problem"].startswith("published: got 'soon'")


@pytest.mark.parametrize("body", ["[]", "", "\n\n"])
def test_a_body_with_no_items_is_422(ingest: Ingest, body: str) -> None:
    media = "application/x-ndjson" if body.strip() != "[]" else "application/json"

    answer = post(ingest, body, content_type=media)

    assert answer.status_code == 422
    assert answer.json()["error"] in ("no_items", "invalid_json")


def test_an_unsupported_content_type_is_415(ingest: Ingest) -> None:
    answer = post(ingest, "id=1&title=x", content_type="application/x-www-form-urlencoded")

    assert answer.status_code == 415
    assert "application/json" in answer.json()["detail"]
    assert ingest.stored == 0


def test_a_chunked_body_without_a_length_is_411(ingest: Ingest) -> None:
    head = (
        "POST /v1/items HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"Authorization: Bearer {TOKEN}\nTransfer-Encoding: chunked\n"
    )

    answer = raw_request(ingest, head, b"5\r\n{}   \r\n0\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 411")


def test_a_body_that_stops_arriving_is_408(ingest: Ingest) -> None:
    head = (
        "POST /v1/items HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"Authorization: Bearer {TOKEN}\nContent-Length: 500\n"
    )
    started = time.monotonic()

    answer = raw_request(ingest, head, b'{"id": "slow", "ti')

    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 3
    assert ingest.stored == 0


def test_other_methods_and_paths_are_405_and_404(ingest: Ingest) -> None:
    assert ingest.http.get(ingest.url).status_code == 405
    assert ingest.http.get(ingest.url).headers["allow"] == "POST"
    unknown = ingest.http.post(
        ingest.server.url + "/v1/other", content=b"{}", headers=ingest.auth()
    )
    assert unknown.status_code == 404


def test_the_server_stays_up_after_every_kind_of_bad_request(ingest: Ingest) -> None:
    head = f"POST /v1/items HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
    raw_request(ingest, head + "Content-Length: 100000000\n")
    raw_request(ingest, "GARBAGE / HTTP/9.9\n")
    raw_request(ingest, "POST /v1/items HTTP/1.1\nContent-Length: -5\n")
    raw_request(ingest, head + "Content-Length: 40\n", b"{")  # no Content-Type
    raw_request(ingest, head + "Content-Type: application/json\nContent-Length: 40\n", b"{")
    with socket.create_connection(ingest.server.url.removeprefix("http://").split(":")):  # type: ignore[arg-type]
        pass  # connects and hangs up at once
    for body in ("{", "[]", json.dumps({"id": 1})):
        post(ingest, body)
    post(ingest, json.dumps(ALERTING), token="nope")

    answer = post(ingest, json.dumps(ALERTING))

    assert answer.status_code == 202
    assert ingest.stored == 1


def test_tokens_never_appear_in_the_log(ingest: Ingest, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        post(ingest, json.dumps(ALERTING))
        post(ingest, json.dumps(ALERTING), token=OTHER_TOKEN + "zz")
        post(ingest, "{", token=OTHER_TOKEN)

    assert TOKEN not in caplog.text and OTHER_TOKEN not in caplog.text
    assert "client=desk" in caplog.text and "client=quant" in caplog.text


def test_many_clients_at_once_are_all_served(ingest: Ingest) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def push(n: int) -> int:
        return post(ingest, json.dumps({"id": f"n{n}", "title": f"story {n}"})).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(push, range(64)))

    assert statuses == [202] * 64
    assert ingest.stored == 64


def test_tokens_must_come_from_the_environment_and_be_long_enough(tmp_path: Path) -> None:
    base = "watchlists: [{name: s, tickers: [NVDA]}]\nserve:\n  tokens:\n"
    with pytest.raises(ConfigError) as literal:
        parse_settings(base + "    desk: hunter2hunter2hunter2\n", "pw.yaml", {})
    with pytest.raises(ConfigError) as short:
        parse_settings(base + '    desk: "${T}"\n', "pw.yaml", {"T": "short"})

    assert literal.value.problems[0].path == "serve.tokens.desk"
    assert "hunter2" not in str(literal.value)
    assert short.value.problems[0].path == "serve.tokens.desk"
    assert "short" not in str(short.value).replace("shortly", "")
