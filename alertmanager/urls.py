from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from subscribers import views as subscriber_views

admin.site.site_header = "AlertManager support"
admin.site.site_title = "AlertManager support"

urlpatterns = [
    # First, or every API request is tried against all the pages' patterns before its own (docs/benchmarks.md).
    path("", include("api.urls")),
    path("", subscriber_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/pick/", subscriber_views.pick_account, name="pick_account"),
    path("dashboard/", subscriber_views.dashboard, name="dashboard"),
    path("", include("registration.urls")),
    path("", include("imports.urls")),
    path("", include("lines.urls")),
    path("numbers/", include("subscribers.urls")),
    path("settings/sftp/", include("sftpdrop.urls")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
    path("", include("messaging.urls")),
]
