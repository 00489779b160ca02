"""What starts runs: manual (API), schedule (cron), webhook (a pull, or records in the body).

:class:`Dispatcher` starts runs in their own threads, one per pipeline at a time;
:class:`Scheduler` fires cron slots; :mod:`~openconnector.triggers.signature` checks webhook
signatures; :class:`WebhookInbox` records every delivery and keeps accepted records until run.
"""

from openconnector.triggers.clock import Clock, SystemClock
from openconnector.triggers.dispatch import Dispatcher, Job, Overloaded, ShuttingDown
from openconnector.triggers.inbox import Replayed, WebhookInbox
from openconnector.triggers.metrics import Metrics
from openconnector.triggers.records import BodyError, extract
from openconnector.triggers.schedule import Schedule, Scheduler, schedules
from openconnector.triggers.signature import HEADER, SignatureError, sign, verify

__all__ = [
    "HEADER",
    "BodyError",
    "Clock",
    "Dispatcher",
    "Job",
    "Metrics",
    "Overloaded",
    "Replayed",
    "Schedule",
    "Scheduler",
    "ShuttingDown",
    "SignatureError",
    "SystemClock",
    "WebhookInbox",
    "extract",
    "schedules",
    "sign",
    "verify",
]
