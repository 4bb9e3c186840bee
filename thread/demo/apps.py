from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo product, plants, rule sets, orders and change order, seeded through the services
    by `manage.py seed_demo` (no models of its own)."""

    name = "thread.demo"
    label = "demo"
    verbose_name = "Demo data"
