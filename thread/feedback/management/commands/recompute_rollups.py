from django.core.management.base import BaseCommand

from thread.feedback.services import rollups_recompute


class Command(BaseCommand):
    help = ("Recompute the feedback roll-ups from the raw operation results and quality events "
            "(they are kept current incrementally; this rebuilds them, e.g. after a restore).")

    def handle(self, *args, **options):
        self.stdout.write(f"{rollups_recompute()} roll-up day(s) written.")
