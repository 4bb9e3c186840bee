from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "thread.flows"
    label = "flows"
    verbose_name = "Flows: systems, keys, inbound and outbound messages"

    def ready(self) -> None:
        # Registers the bearer-key scheme with drf-spectacular.
        from thread.api import schema  # noqa: F401
