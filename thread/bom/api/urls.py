from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("eboms", views.EBomViewSet)

app_name = "bom"
urlpatterns = [
    path("explosion/", views.ExplosionView.as_view(), name="explosion"),
    *router.urls,
]
