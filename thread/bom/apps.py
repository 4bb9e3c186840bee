from django.apps import AppConfig


class BomConfig(AppConfig):
    name = "thread.bom"
    label = "bom"
    verbose_name = "BOM: engineering BOM snapshots"

    def ready(self) -> None:
        # A release in the catalog generates the products' mBOMs (docs/mbom.md): the catalog
        # calls bom through this hook, since it may not import bom.
        from thread.bom.mbom.services import mboms_after_release
        from thread.catalog import hooks

        hooks.register_after_release(mboms_after_release)
