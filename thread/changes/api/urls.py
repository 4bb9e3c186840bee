from django.urls import path
from rest_framework.routers import DefaultRouter

from . import impact_views, views

router = DefaultRouter()
router.register("change-orders", views.ChangeOrderViewSet)
router.register("change-order-types", views.ChangeOrderTypeViewSet)
router.register("impact-flags", impact_views.ImpactFlagViewSet)

app_name = "changes"
urlpatterns = [path("impact/", impact_views.ImpactView.as_view(), name="impact"), *router.urls]
