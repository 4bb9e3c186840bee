from django.contrib import admin
from django.urls import path

from . import views

app_name = "thread-story"
urlpatterns = [
    path("<str:part>/<str:revision>/", admin.site.admin_view(views.thread_page), name="page"),
]
