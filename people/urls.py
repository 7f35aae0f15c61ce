from django.urls import path

from people import views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/verify/", views.verify, name="login_verify"),
    path("login/setup/", views.setup, name="login_setup"),
    path("login/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("login/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("login/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("login/invitation/<str:token>/", views.invitation, name="invitation"),
    path("account/security/", views.security, name="security"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("people/", views.people, name="people"),
    path("people/settings/", views.people_settings, name="people_settings"),
    path("people/<int:pk>/", views.person_action, name="person_action"),
]
