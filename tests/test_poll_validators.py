"""A feed's validators are saved only after its items are stored, so a crash loses nothing."""

from __future__ import annotations

from pathlib import Path

from tests.support.feedserver import FeedServer, Reply
from tests.test_run_once import NEWS
from worker.config import parse_settings
from worker.pipeline import Pipeline
from worker.runtime.embedded import make_http_client
from worker.store.sqlite import SqliteStore


def test_a_crash_between_poll_and_store_does_not_turn_the_next_poll_into_a_304(
    tmp_path: Path,
) -> None:
    with FeedServer() as feeds:
        url = feeds.serve(
            "/wire.rss", Reply(body=(NEWS / "wire-tech.rss.xml").read_bytes(), etag='"v1"')
        )
        settings = parse_settings(
            f"watchlists: [{{name: w, tickers: [NVDA]}}]\nfeeds: [{{name: wire, url: '{url}'}}]\n",
            str(tmp_path / "c.yaml"),
            {},
        )
        feed = settings.feeds[0]
        client = make_http_client("test")
        store = SqliteStore(tmp_path / "state.db")
        first = Pipeline(settings, store, {}).poll_feed(feed, client)
        assert first.status == "new" and first.items
        # The process dies here: the items were fetched but never stored.

        after_restart = Pipeline(settings, store, {})
        second = after_restart.poll_feed(feed, client)
        assert second.status == "new" and len(second.items) == len(first.items)
        assert "if-none-match" not in feeds.requests_to("/wire.rss")[-1].headers

        after_restart.process_items(feed.name, second.items)
        after_restart.finish_poll(second)
        third = after_restart.poll_feed(feed, client)
        assert third.status == "not-modified"
        assert feeds.requests_to("/wire.rss")[-1].headers.get("if-none-match") == '"v1"'
        client.close()
        store.close()
