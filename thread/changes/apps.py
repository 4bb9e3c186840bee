from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "thread.changes"
    label = "changes"
    verbose_name = "Changes: engineering change orders"
