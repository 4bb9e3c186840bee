from django.core.management.base import BaseCommand, CommandError

from thread.errors import DomainError
from thread.flows import drift_check
from thread.flows.choices import DriftRunState, DriftTrigger
from thread.flows.models import ExternalSystem


class Command(BaseCommand):
    help = ("Read back what Thread delivered to converging peers (InvenTree) and record drift "
            "findings: one run per system from where the last one stopped, whether or not the "
            "schedule would run it now. Exits with 1 if a peer could not be read.")

    def add_arguments(self, parser):
        parser.add_argument("systems", nargs="*", metavar="SYSTEM",
                            help="System names (default: every system with a drift check).")
        parser.add_argument("--full", action="store_true",
                            help="Run until the current pass over the catalogue is complete.")

    def handle(self, *args, systems, full, **options):
        if systems:
            found = {s.name: s for s in ExternalSystem.objects.filter(name__in=systems)}
            missing = sorted(set(systems) - set(found))
            if missing:
                raise CommandError(f"No such system: {', '.join(missing)}")
            chosen = [found[name] for name in systems]
        else:
            chosen = list(drift_check.drift_checked_systems())
            if not chosen:
                self.stdout.write("No system has a drift check (a connector that can read back, "
                                  "enabled, with its drift check on).")
        failed = []
        for system in chosen:
            while True:
                try:
                    report = drift_check.drift_check_run(system=system,
                                                         trigger=DriftTrigger.COMMAND)
                except DomainError as exc:
                    raise CommandError(str(exc)) from exc
                self.stdout.write(f"{report.system}: run #{report.run_id or '-'} "
                                  f"{report.state}: {report.detail}")
                if report.state == DriftRunState.FAILED:
                    failed.append(report.system)
                if not full or report.state != DriftRunState.COMPLETED \
                        or drift_check.last_run(system).sweep_done:
                    break
        if failed:
            raise CommandError(f"Could not read {', '.join(failed)}: see the runs above; the "
                               "next run resumes where these stopped.")
