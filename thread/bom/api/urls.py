from django.urls import path
from rest_framework.routers import DefaultRouter

from . import mbom_views, views

router = DefaultRouter()
router.register("eboms", views.EBomViewSet)
router.register("mapping-rule-sets", views.MappingRuleSetViewSet)
router.register("mapping-rule-set-versions", views.MappingRuleSetVersionViewSet)
router.register("mboms", mbom_views.MBomViewSet)
router.register("mbom-versions", mbom_views.MBomVersionViewSet)

app_name = "bom"
urlpatterns = [
    path("explosion/", views.ExplosionView.as_view(), name="explosion"),
    path("mbom-previews/", mbom_views.MBomPreviewView.as_view(), name="mbom-preview"),
    path("accountability/", mbom_views.AccountabilityView.as_view(), name="accountability"),
    *router.urls,
]
