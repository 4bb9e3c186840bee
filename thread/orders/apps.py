from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "thread.orders"
    label = "orders"
    verbose_name = "Orders (ERP mirrors, routings, work orders)"

    def ready(self) -> None:
        from thread.flows.hooks import register_after_delivered

        from .work_orders.batches import BATCH_TOPIC
        from .work_orders.services import (
            CHANGE_TOPIC,
            TOPIC,
            batch_messages_delivered,
            work_orders_mark_sent,
        )

        # A work order is "sent" once the outbox has delivered its document to the MES (alone,
        # or in its shift's batch document), and again once a change has reached it.
        register_after_delivered(TOPIC, work_orders_mark_sent)
        register_after_delivered(CHANGE_TOPIC, work_orders_mark_sent)
        register_after_delivered(BATCH_TOPIC, batch_messages_delivered)
