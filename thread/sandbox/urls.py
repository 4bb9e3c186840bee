from django.contrib import admin
from django.urls import path, re_path

from . import views

app_name = "sandbox"

urlpatterns = [
    # The page is for people signed in to the admin (staff); the peers answer anyone, as the
    # external systems they stand in for would.
    path("", admin.site.admin_view(views.sandbox_page), name="page"),
    path("switch/<str:peer>/", admin.site.admin_view(views.sandbox_switch), name="switch"),
    path("mes-report/", admin.site.admin_view(views.mes_report), name="mes-report"),
    re_path(r"^(?P<peer>erp|mes|plm)/(?P<rest>.*)$", views.peer_endpoint, name="peer"),
]
