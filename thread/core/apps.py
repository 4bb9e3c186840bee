from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The installation's setup, on top of every domain app: the role groups and what each may
    do (`roles`), and `manage.py setup_thread`, which applies them and schedules every app's
    periodic tasks. It names every app, so no app has to know the others to be set up."""

    name = "thread.core"
    label = "core"
    verbose_name = "Setup"
