from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("outbound-messages", views.OutboundMessageViewSet, basename="outbound-message")

app_name = "flows"
urlpatterns = router.urls
