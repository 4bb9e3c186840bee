from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("purchase-orders", views.PurchaseOrderViewSet)
router.register("production-orders", views.ProductionOrderViewSet)
router.register("impact-flags", views.ImpactFlagViewSet)

app_name = "orders"
urlpatterns = [path("impact/", views.ImpactView.as_view(), name="impact"), *router.urls]
