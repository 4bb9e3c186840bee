from django.core.management.base import BaseCommand, CommandError

from thread.errors import DomainError
from thread.flows import services
from thread.flows.choices import SystemKind


class Command(BaseCommand):
    help = "Create an external system (PLM, ERP, MES) and print its first API key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("kind", choices=SystemKind.values)
        parser.add_argument("--reason", default="Created with manage.py create_system")
        parser.add_argument("--description", default="")

    def handle(self, *args, name, kind, reason, description, **options):
        try:
            system = services.system_create(name=name, kind=kind, actor=None, reason=reason,
                                            description=description)
            issued = services.api_key_issue(system=system, actor=None, reason=reason,
                                            label="first key")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"System {system.name} ({system.kind}) created.")
        self.stdout.write(f"API key (shown once, expires {issued.api_key.expires_at:%Y-%m-%d}):")
        self.stdout.write(issued.raw_key)
