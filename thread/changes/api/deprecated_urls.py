"""The first home of impact and impact flags, /api/v1/orders/impact/ and /api/v1/orders/
impact-flags/, kept answering for clients written against it: the same views, not redirects (an
ERP's client may not follow one), marked deprecated in the OpenAPI schema. The routes moved to
/api/v1/changes/ with the impact itself, which belongs to change orders."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.routers import SimpleRouter

from . import impact_views

DEPRECATED = extend_schema(deprecated=True,
                           description="Deprecated: use the same route under /api/v1/changes/.")


@extend_schema_view(list=DEPRECATED, retrieve=DEPRECATED, acknowledge=DEPRECATED,
                    resolve=DEPRECATED)
class DeprecatedImpactFlagViewSet(impact_views.ImpactFlagViewSet):
    pass


@extend_schema_view(get=extend_schema(deprecated=True, operation_id="orders_impact",
                                      description="Deprecated: use /api/v1/changes/impact/."))
class DeprecatedImpactView(impact_views.ImpactView):
    pass


router = SimpleRouter()
router.register("impact-flags", DeprecatedImpactFlagViewSet, basename="deprecated-impactflag")

app_name = "orders-deprecated"
urlpatterns = [path("impact/", DeprecatedImpactView.as_view(), name="impact"), *router.urls]
