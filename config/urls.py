from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from thread.api.views import problem_types
from thread.bom.mbom.api.generate_views import RevisionReleaseView
from thread.core.views import home
from thread.flows.monitor_views import healthz

admin.site.site_header = "Thread — digital-thread hub"
admin.site.site_title = "Thread"
admin.site.index_title = "Product master, BOMs and flows"

api_v1 = [
    # A release generates mBOMs, so bom answers the catalog's release route (its view says why).
    path("catalog/part-revisions/<int:pk>/release/", RevisionReleaseView.as_view(),
         name="part-revision-release"),
    path("catalog/", include("thread.catalog.api.urls")),
    path("flows/", include("thread.flows.api.urls")),
    path("bom/", include("thread.bom.api.urls")),
    path("changes/", include("thread.changes.api.urls")),
    path("orders/", include("thread.orders.api.urls")),
    path("feedback/", include("thread.feedback.api.urls")),
    # Impact moved to changes; its first routes keep answering (deprecated in the schema).
    path("orders/", include("thread.changes.api.deprecated_urls")),
]

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # Before the admin's own URLs, so they are not taken for an app's model pages.
    path("admin/flows/monitor/", include("thread.flows.monitor_urls")),
    path("admin/thread/", include("thread.feedback.story.urls")),
    # Impact flags moved from the orders app to changes: bookmarks of their pages still work.
    re_path(r"^admin/orders/impactflag/(?P<rest>.*)$",
            RedirectView.as_view(url="/admin/changes/impactflag/%(rest)s", query_string=True,
                                 permanent=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("problems/", problem_types, name="problem-types"),
    path("problems/<slug:slug>", problem_types, name="problem-type"),
]

if settings.THREAD_SANDBOX:
    urlpatterns.append(path("sandbox/", include("thread.sandbox.urls")))

# Under /api/ even Django's own 404 and 500 answer in problem details.
handler404 = "thread.api.views.not_found"
handler500 = "thread.api.views.server_error"
