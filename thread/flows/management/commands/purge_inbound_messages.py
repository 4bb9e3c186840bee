from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from thread.flows.choices import InboundStatus
from thread.flows.models import InboundMessage


class Command(BaseCommand):
    help = ("Delete finished inbound messages (idempotency records) older than the retention "
            "period (THREAD_IDEMPOTENCY_RETENTION_DAYS, default 7).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.THREAD_IDEMPOTENCY_RETENTION_DAYS)

    def handle(self, *args, days, **options):
        if days < 1:
            self.stderr.write("--days must be at least 1: keys must outlive client retries.")
            return
        cutoff = timezone.now() - timedelta(days=days)
        deleted, _ = InboundMessage.objects.filter(received_at__lt=cutoff).exclude(
            status=InboundStatus.PROCESSING).delete()
        self.stdout.write(f"Deleted {deleted} inbound message(s) received before {cutoff:%Y-%m-%d %H:%M}.")
