from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("purchase-orders", views.PurchaseOrderViewSet)
router.register("production-orders", views.ProductionOrderViewSet)

app_name = "orders"
urlpatterns = router.urls
