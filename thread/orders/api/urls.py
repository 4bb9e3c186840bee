from rest_framework.routers import DefaultRouter

from . import routings, views, work_orders

router = DefaultRouter()
router.register("purchase-orders", views.PurchaseOrderViewSet)
router.register("production-orders", views.ProductionOrderViewSet)
router.register("work-centers", routings.WorkCenterViewSet)
router.register("routings", routings.RoutingViewSet)
router.register("work-orders", work_orders.WorkOrderViewSet, basename="workorder")

app_name = "orders"
urlpatterns = router.urls
