from django.contrib import admin
from django.urls import path

from . import drift_views
from . import monitor_views as views

app_name = "flows-monitor"

# Under /admin/flows/monitor/: signed-in staff only (admin_view); each view checks the flows
# permissions (view to look, operate to act).
urlpatterns = [
    path("", admin.site.admin_view(views.overview), name="overview"),
    path("messages/", admin.site.admin_view(views.message_list), name="messages"),
    path("messages/<int:pk>/", admin.site.admin_view(views.message_page), name="message"),
    path("messages/<int:pk>/<str:action>/", admin.site.admin_view(views.message_action),
         name="message-action"),
    path("drift/", admin.site.admin_view(drift_views.drift_page), name="drift"),
    path("drift/<int:pk>/<str:action>/", admin.site.admin_view(drift_views.finding_action),
         name="drift-action"),
    path("systems/<int:pk>/check-drift/", admin.site.admin_view(drift_views.system_check_now),
         name="system-check-drift"),
    path("systems/<int:pk>/retry/", admin.site.admin_view(views.system_retry_waiting),
         name="system-retry"),
]
