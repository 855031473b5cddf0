"""The Celery application: every task carries its tenant schema.

tenant-schemas-celery puts the sending connection's schema in a message header and switches
to it before the task runs. Tasks derive from :class:`TenantBoundTask`, which refuses to run
in the public schema unless the task is declared ``public=True`` (the beat fan-out tasks that
iterate over tenants), so a tenant task sent without a tenant fails loudly.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.db import connection
from kombu import Queue
from tenant_schemas_celery.app import CeleryApp
from tenant_schemas_celery.task import TenantTask

from saas.entrypoint import configured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
# Validate the environment when a worker or beat starts, with one clear line on error.
configured(lambda: settings.INSTALLED_APPS)


class TaskInPublicSchemaError(RuntimeError):
    """A tenant task was about to run in the public schema."""


class TenantBoundTask(TenantTask):
    """Base task: runs in the sender's tenant schema, never silently in ``public``."""

    abstract = True
    #: True for tasks that legitimately run in the public schema (fan-out over tenants).
    public = False

    def __call__(self, *args, **kwargs):
        if not self.public and connection.schema_name == "public":
            raise TaskInPublicSchemaError(
                f"task {self.name} must be sent from a tenant context; it would run in the public schema"
            )
        return super().__call__(*args, **kwargs)


app = CeleryApp("alertengine", task_cls=TenantBoundTask)
app.config_from_object("django.conf:settings", namespace="CELERY")


app.conf.task_queues = [Queue(name, routing_key=name) for name in settings.TASK_QUEUES]


app.autodiscover_tasks()


def task_queue(name: str) -> str | None:
    """The queue a task is explicitly routed to (task option or ``task_routes``), else None."""
    task = app.tasks.get(name)
    if task is not None and getattr(task, "queue", None):
        return task.queue
    for route in app.amqp.routes:
        options = route(name, (), {}, {}, task=task)
        if options and options.get("queue"):
            queue = options["queue"]
            return queue if isinstance(queue, str) else queue.name
    return None
