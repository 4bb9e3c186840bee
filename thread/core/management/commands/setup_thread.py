from django.core.management.base import BaseCommand
from django_q.models import Schedule

from thread.bom.tasks import RESUME_SCHEDULE
from thread.core.roles import setup_roles
from thread.feedback.tasks import BUILD_ORDER_POLL_SCHEDULE
from thread.flows.tasks import DRAIN_SCHEDULE, DRIFT_SCHEDULE
from thread.orders.tasks import ERP_ORDERS_POLL_SCHEDULE, SHIFT_BATCH_SCHEDULE

SCHEDULES = [
    # (name, function, schedule type, minutes)
    ("purge inbound messages", "django.core.management.call_command", Schedule.DAILY, None,
     "'purge_inbound_messages'"),
    # Recovers whatever a lost or failed drain task left behind (docs/outbox.md).
    (DRAIN_SCHEDULE, "thread.flows.tasks.drain_outbox", Schedule.MINUTES, 1, None),
    ("purge outbound messages", "thread.flows.tasks.purge_outbox", Schedule.HOURLY, None, None),
    # Mails new flow alerts to THREAD_ALERT_EMAILS (docs/monitoring.md).
    ("notify flow alerts", "thread.flows.tasks.notify_flow_alerts", Schedule.MINUTES, 1, None),
    # Reads back what converging connectors delivered and records drift (docs/monitoring.md).
    (DRIFT_SCHEDULE, "thread.flows.tasks.check_drift", Schedule.MINUTES, 5, None),
    # Resumes mBOM regeneration jobs whose task was lost (docs/mbom.md).
    (RESUME_SCHEDULE, "thread.bom.tasks.resume_regenerations", Schedule.MINUTES, 1, None),
    # Sends the work orders of plants with shift-start timing at their shift (docs/work-orders.md).
    (SHIFT_BATCH_SCHEDULE, "thread.orders.tasks.send_shift_batches", Schedule.MINUTES, 1, None),
    # Sends the week's feedback digest per revision and plant to the PLM (docs/feedback.md).
    ("send feedback digests", "thread.feedback.tasks.send_digests", Schedule.WEEKLY, None, None),
    # Reads the build orders of ERPs Thread polls, and their progress (InvenTree;
    # docs/connectors.md, docs/feedback.md).
    (BUILD_ORDER_POLL_SCHEDULE, "thread.feedback.tasks.poll_build_orders", Schedule.MINUTES, 5,
     None),
    # Reads manufacturing and purchase orders from the ERPs Thread polls (Odoo, ERPNext;
    # docs/connectors.md).
    (ERP_ORDERS_POLL_SCHEDULE, "thread.orders.tasks.poll_erp_orders", Schedule.MINUTES, 5,
     None),
]


class Command(BaseCommand):
    help = ("Create or refresh what a Thread installation needs besides migrations: the role "
            "groups and the scheduled tasks. Safe to run again.")

    def handle(self, *args, **options):
        for role, count in setup_roles().items():
            self.stdout.write(f"role {role}: {count} permissions")
        for name, func, schedule_type, minutes, task_args in SCHEDULES:
            Schedule.objects.update_or_create(
                name=name,
                defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes,
                          "args": task_args, "repeats": -1},
            )
            self.stdout.write(f"schedule {name}: {schedule_type}")
