from django.apps import AppConfig


class BomConfig(AppConfig):
    name = "thread.bom"
    label = "bom"
    verbose_name = "BOM: engineering BOM snapshots"
