from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("imports/", views.history, name="history"),
    path("imports/<int:pk>/", views.run_detail, name="run"),
    path("imports/<int:pk>/results.csv", views.run_results_csv, name="run_csv"),
    path("imports/<int:pk>/preformatted.csv", views.run_preformatted_csv, name="run_preformatted"),
    path("imports/<int:pk>/confirm/", views.run_confirm, name="run_confirm"),
    path("imports/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("imports/<int:pk>/undo/", views.run_undo, name="run_undo"),
    path("configurations/", views.configs, name="configs"),
    path("configurations/new/", views.config_new, name="config_new"),
    path("configurations/sample/<str:token>/", views.config_columns, name="config_columns"),
    path("configurations/<int:pk>/", views.config_detail, name="config"),
    path("configurations/<int:pk>/edit/", views.config_edit, name="config_edit"),
    path("configurations/<int:pk>/sample/", views.config_sample, name="config_sample"),
    path("configurations/<int:pk>/approve/", views.config_approve, name="config_approve"),
    path("configurations/<int:pk>/retire/", views.config_retire, name="config_retire"),
]
