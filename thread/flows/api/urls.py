from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("outbound-messages", views.OutboundMessageViewSet, basename="outbound-message")
router.register("drift-findings", views.DriftFindingViewSet, basename="drift-finding")

app_name = "flows"
urlpatterns = [
    path("status/", views.FlowStatusView.as_view(), name="flow-status"),
    *router.urls,
]
