"""One job system for all background work: typed jobs in the database, run by `flask portal worker`.

Job types: "mail.deliver" (portal.mail.outbox), "invoice.send" (portal.mail.notifications),
"webhook.deliver" (portal.api.webhook_delivery), "sms.send" (portal.services.sms),
"ledger.booking_mails" (portal.services.ledger), "bank.import_statement" (portal.services.bank_import) and the scheduled duties (portal.jobs.duties). The queue and its leases are in portal.jobs.queue, the worker
loop in portal.jobs.worker, the schedule in portal.jobs.schedule.
"""

from __future__ import annotations


def load_job_types() -> None:
    """Import every module that registers a job type, so any worker can run any job."""
    import portal.api.webhook_delivery  # noqa: F401
    import portal.jobs.duties  # noqa: F401
    import portal.mail.notifications  # noqa: F401
    import portal.mail.outbox  # noqa: F401
    import portal.services.bank_import  # noqa: F401
    import portal.services.ledger  # noqa: F401
    import portal.services.sms  # noqa: F401
