from django.urls import path

from sftpdrop import views

app_name = "sftpdrop"
urlpatterns = [
    path("", views.credentials, name="credentials"),
    path("create/", views.credentials_create, name="create"),
    path("rotate/", views.credentials_rotate, name="rotate"),
    path("revoke/", views.credentials_revoke, name="revoke"),
    path("import-settings/", views.drop_settings, name="settings"),
]
