from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from front import views as front_views
from people import views as people_views
from subscribers import views as subscriber_views

admin.site.site_header = "AlertManager support"
admin.site.site_title = "AlertManager support"
admin.site.login = people_views.admin_login

urlpatterns = [
    # First, or every API request is tried against all the pages' patterns before its own (docs/benchmarks.md).
    path("", include("api.urls")),
    path("", subscriber_views.home, name="home"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", include("people.urls")),
    path("", include("audit.urls")),
    path("accounts/pick/", subscriber_views.pick_account, name="pick_account"),
    path("dashboard/", front_views.dashboard, name="dashboard"),
    path("dashboard/guide/dismiss/", front_views.guide_dismiss, name="guide_dismiss"),
    path("", include("registration.urls")),
    path("", include("imports.urls")),
    path("", include("lines.urls")),
    path("numbers/", include("subscribers.urls")),
    path("settings/sftp/", include("sftpdrop.urls")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
    path("", include("messaging.urls")),
]
