from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from thread.api.views import problem_types

admin.site.site_header = "Thread — digital-thread hub"
admin.site.site_title = "Thread"
admin.site.index_title = "Product master, BOMs and flows"

api_v1 = [
    path("catalog/", include("thread.catalog.api.urls")),
    path("flows/", include("thread.flows.api.urls")),
    path("bom/", include("thread.bom.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("problems/", problem_types, name="problem-types"),
    path("problems/<slug:slug>", problem_types, name="problem-type"),
]
