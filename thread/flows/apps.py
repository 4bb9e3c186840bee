from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "thread.flows"
    label = "flows"
    verbose_name = "Flows: systems, keys, inbound and outbound messages"
