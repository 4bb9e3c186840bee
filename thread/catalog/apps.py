from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "thread.catalog"
    label = "catalog"
    verbose_name = "Catalog: parts, revisions, units, plants"
