from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "thread.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox peers (demo only)"
