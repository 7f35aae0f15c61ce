from django.urls import path

from subscribers import views

app_name = "subscribers"

urlpatterns = [
    path("", views.subscriber_list, name="list"),
    path("add/", views.subscriber_add, name="add"),
    path("bulk/", views.subscriber_bulk, name="bulk"),
    path("export/", views.subscriber_export, name="export"),
    path("exports/<slug:token>/", views.export_status, name="export_status"),
    path("exports/<slug:token>/download/", views.export_download, name="export_download"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/remove-empty/", views.tags_remove_empty, name="tags_remove_empty"),
    path("tags/<int:pk>/", views.tag_detail, name="tag"),
    path("usage/", views.usage, name="usage"),
    path("consent-ledger/", views.consent_ledger, name="consent_ledger"),
    path("<int:pk>/", views.subscriber_detail, name="detail"),
    path("<int:pk>/language/", views.subscriber_language, name="language"),
    path("<int:pk>/tags/", views.subscriber_tags_edit, name="edit_tags"),
    path("<int:pk>/consent/", views.subscriber_consent, name="consent"),
    path("<int:pk>/consent.csv", views.subscriber_consent_csv, name="consent_csv"),
    path("<int:pk>/<slug:action>/", views.subscriber_action, name="action"),
]
