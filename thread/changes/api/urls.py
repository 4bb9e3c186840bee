from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("change-orders", views.ChangeOrderViewSet)
router.register("change-order-types", views.ChangeOrderTypeViewSet)

app_name = "changes"
urlpatterns = router.urls
