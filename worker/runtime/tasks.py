"""The Celery tasks: thin wrappers that look up what they need and call the pipeline.

    policywatch.poll_feed(feed_name)   poll, score, record; queue a delivery for each new one
    policywatch.deliver(delivery_id)   claim (if due and free), send, record the outcome
    policywatch.sweep()                release due holds and digests, then queue every delivery
                                       that is due or whose lease ran out

All logic lives in worker.pipeline and worker.runtime.queueing and is tested without Celery.
A task that fails is acknowledged and not retried by Celery: what it owed is still in the
store, and the sweeper hands it out again when it is due.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from worker.runtime.queueing import DELIVER, POLL_FEED, SWEEP, sweep
from worker.store.keys import DELIVER_QUEUE, POLL_QUEUE

if TYPE_CHECKING:
    from worker.runtime.celery_app import DistributedApp

log = logging.getLogger(__name__)


def register_tasks(app: DistributedApp) -> None:
    """Define the three tasks on `app.celery`."""
    from worker.runtime.celery_app import task_limits_s

    poll_soft, poll_hard = task_limits_s(app.settings, POLL_QUEUE)
    deliver_soft, deliver_hard = task_limits_s(app.settings, DELIVER_QUEUE)

    def poll_feed(feed_name: str) -> int:
        context = app.context()
        feed = context.feeds.get(feed_name)
        if feed is None:
            log.warning("poll for feed %r ignored: it is not in this worker's config", feed_name)
            return 0
        outcome = context.pipeline.poll_feed(feed, context.client)
        if not outcome.items:
            return 0
        _, created = context.pipeline.process_items(feed.name, outcome.items)
        for delivery in created:
            context.queue.deliver(delivery.id)
        return len(created)

    def deliver(delivery_id: str) -> str:
        context = app.context()
        try:
            return context.pipeline.deliver(delivery_id).state
        finally:
            context.queue.delivery_done(delivery_id)

    def sweep_due() -> int:
        context = app.context()
        context.queue.sweep_started()
        # Held alerts whose time has come (group_wait, quiet hours) and digests due, or missed
        # while nothing ran, become deliveries here; the sweep below queues them.
        context.pipeline.flush_due()
        queued = sweep(context.pipeline.store, context.queue, context.pipeline.clock())
        if queued:
            log.info("sweep: queued %d due deliveries", queued)
        return queued

    def task(name: str, soft: float, hard: float) -> Any:
        # shared=False: these tasks belong to this app only, not to every app in the process
        return app.celery.task(name=name, soft_time_limit=soft, time_limit=hard, shared=False)

    task(POLL_FEED, poll_soft, poll_hard)(poll_feed)
    task(SWEEP, poll_soft, poll_hard)(sweep_due)
    task(DELIVER, deliver_soft, deliver_hard)(deliver)
