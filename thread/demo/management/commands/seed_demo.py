from django.conf import settings
from django.core.management.base import BaseCommand

from thread.demo.seed import DEMO_LOGIN, DEMO_ROLE_USERS, seed_demo


class Command(BaseCommand):
    help = "Load the demo data (an e-bike, two plants, PLM/ERP/MES systems). Safe to run again."

    def handle(self, *args, **options):
        report = seed_demo()
        created = ", ".join(f"{n} {what}" for what, n in report.created.items()) or "nothing new"
        self.stdout.write(f"Demo data: {created}.")
        # Keys are stored hashed and shown once; the demo keeps its own keys in var/ (never
        # committed) so that whoever runs the demo again can still try the API.
        keys_file = settings.VAR_DIR / "demo-api-keys.txt"
        if report.new_keys:
            keys_file.parent.mkdir(parents=True, exist_ok=True)
            with keys_file.open("a") as out:
                for system, key in report.new_keys.items():
                    out.write(f"{system}\t{key}\n")
        if keys_file.exists():
            self.stdout.write(f"Demo API keys (from {keys_file}):")
            self.stdout.write(keys_file.read_text().rstrip())
        self.stdout.write(f"Demo login: {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}")
        people = ", ".join(f"{name} ({role})" for name, role in DEMO_ROLE_USERS.items())
        self.stdout.write(f"One login per role, password = the name: {people}")
