from django.urls import path

from registration import views

app_name = "registration"

urlpatterns = [
    path("registration/", views.brand, name="brand"),
    path("registration/campaigns/", views.campaigns, name="campaigns"),
    path("registration/campaigns/new/", views.campaign_new, name="campaign_new"),
    path("registration/campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("users/", views.users, name="users"),
    path("users/numbers/<int:pk>/enable/", views.number_enable, name="number_enable"),
    path("users/numbers/<int:pk>/disable/", views.number_disable, name="number_disable"),
    path("users/numbers/<int:pk>/remove/", views.number_remove, name="number_remove"),
]
