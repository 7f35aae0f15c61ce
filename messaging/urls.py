from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("messages/alerts/", views.alerts, name="alerts"),
    path("messages/alerts/new/", views.alert_new, name="alert_new"),
    path("messages/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("messages/texts/", views.texts, name="texts"),
    path("messages/sent/", views.outbox, name="outbox"),
    path("messages/double-opt-in/", views.double_opt_in_send, name="double_opt_in"),
    # The button on a number's page: the page is the list's, texting its owner is messaging's.
    path("messages/double-opt-in/number/<int:pk>/", views.subscriber_request_opt_in, name="subscriber_request_opt_in"),
    path("messages/inbox/", views.inbox, name="inbox"),
    path("messages/inbox/<int:pk>/resolve/", views.inbox_resolve, name="inbox_resolve"),
    path("messages/revocations/new/", views.revocation_new, name="revocation_new"),
    # Public: the provider's webhooks (signature-checked) and the sign-up widget (origin-checked, limited).
    path("sms/inbound/", views.sms_inbound, name="sms_inbound"),
    path("sms/status/", views.sms_status, name="sms_status"),
    path("widget/<str:key>/", views.widget_form, name="widget"),
    path("widget/<str:key>/subscribe/", views.widget_submit, name="widget_submit"),
]
