from django.urls import path

from lines import views

app_name = "lines"

urlpatterns = [
    path("settings/line-types/", views.line_settings, name="settings"),
    path("settings/line-types/lookups/", views.lookup_start, name="lookup_start"),
    path("settings/line-types/reassigned-check/", views.reassigned_start, name="reassigned_start"),
    path("numbers/<int:pk>/clear-unreachable/", views.clear_unreachable, name="clear_unreachable"),
]
