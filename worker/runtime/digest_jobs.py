"""APScheduler jobs `digest:<channel>` that make each digest channel's digest on its schedule.

The job only wakes the flush (worker/digests.py decides what is due and keeps the period
marks), so a missed or doubled run changes nothing; the jobs are there so digests go out on the
minute and `status` can show each digest's next run from the scheduler's heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from worker.routing import ChannelPolicy
from worker.schedule import Schedule

JOB_PREFIX = "digest:"


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger firing at a Schedule's times (DST handled by Schedule)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = max(previous_fire_time, now) if previous_fire_time else now
        try:
            return self.schedule.next_after(after)
        except ValueError:  # a schedule that never fires again
            return None

    def __str__(self) -> str:
        return f"schedule[{self.schedule.spec.text}, {self.schedule.zone.key}]"


def schedule_digest_jobs(
    scheduler: BaseScheduler,
    policies: Mapping[str, ChannelPolicy],
    run: Callable[[], None],
) -> None:
    """(Re)place one `digest:<channel>` job per digest channel; drop the others."""
    wanted = {f"{JOB_PREFIX}{p.name}": p for p in policies.values() if p.mode == "digest"}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
    for job_id, policy in wanted.items():
        scheduler.add_job(
            run,
            ScheduleTrigger(policy.schedule),
            id=job_id,
            name=f"digest {policy.name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # late is better than never: the flush catches up anyway
        )
