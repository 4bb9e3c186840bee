from django.urls import path
from rest_framework.routers import DefaultRouter

from thread.bom.ebom.api import views as ebom_views
from thread.bom.mbom.api import generate_views
from thread.bom.mbom.api import views as mbom_views
from thread.bom.rules.api import views as rules_views

router = DefaultRouter()
router.register("eboms", ebom_views.EBomViewSet)
router.register("mapping-rule-sets", rules_views.MappingRuleSetViewSet)
router.register("mapping-rule-set-versions", rules_views.MappingRuleSetVersionViewSet)
router.register("mboms", mbom_views.MBomViewSet)
router.register("mbom-versions", mbom_views.MBomVersionViewSet)
router.register("regeneration-jobs", mbom_views.RegenerationJobViewSet)

app_name = "bom"
urlpatterns = [
    # Before the router: "generate" is no mBOM id.
    path("mboms/generate/", generate_views.MBomGenerateView.as_view(), name="mbom-generate"),
    path("explosion/", ebom_views.ExplosionView.as_view(), name="explosion"),
    path("mbom-previews/", mbom_views.MBomPreviewView.as_view(), name="mbom-preview"),
    path("accountability/", mbom_views.AccountabilityView.as_view(), name="accountability"),
    *router.urls,
]
