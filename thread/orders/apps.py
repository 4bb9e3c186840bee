from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "thread.orders"
    label = "orders"
    verbose_name = "Orders (ERP mirrors)"
