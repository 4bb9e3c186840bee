from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "thread.flows"
    label = "flows"
    verbose_name = "Flows: systems, keys, inbound and outbound messages"

    def ready(self) -> None:
        from django_q.signals import post_spawn, pre_execute

        from thread.api import schema  # noqa: F401  (registers the bearer-key scheme)

        from . import checks, tasks  # noqa: F401  (checks registers the timing checks)

        # Instrumentation of the task cluster, no business rule: the attempt log names the
        # task, and a reincarnated worker takes back the leases its predecessor died with.
        pre_execute.connect(tasks.remember_running_task, dispatch_uid="thread-running-task")
        post_spawn.connect(tasks.take_back_after_spawn, dispatch_uid="thread-take-back")
