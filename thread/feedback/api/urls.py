from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("operation-results", views.OperationResultViewSet, basename="operation-result")
router.register("quality-events", views.QualityEventViewSet, basename="quality-event")
router.register("rollup-days", views.RollupDayViewSet, basename="rollup-day")
router.register("order-progress-readings", views.OrderProgressViewSet,
                basename="order-progress-reading")

app_name = "feedback"
urlpatterns = [
    path("threads/<str:part>/<str:revision>/", views.ThreadView.as_view(), name="thread"),
    path("change-order-effects/", views.ChangeOrderEffectsView.as_view(),
         name="change-order-effects"),
    *router.urls,
]
