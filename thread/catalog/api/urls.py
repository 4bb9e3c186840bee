from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("parts", views.PartViewSet)
router.register("part-revisions", views.PartRevisionViewSet)
router.register("units", views.UnitViewSet)
router.register("unit-aliases", views.UnitAliasViewSet)
router.register("system-unit-codes", views.SystemUnitCodeViewSet)
router.register("plants", views.PlantViewSet)

app_name = "catalog"
urlpatterns = router.urls
