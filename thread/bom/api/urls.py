from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("eboms", views.EBomViewSet)
router.register("mapping-rule-sets", views.MappingRuleSetViewSet)
router.register("mapping-rule-set-versions", views.MappingRuleSetVersionViewSet)

app_name = "bom"
urlpatterns = [
    path("explosion/", views.ExplosionView.as_view(), name="explosion"),
    *router.urls,
]
