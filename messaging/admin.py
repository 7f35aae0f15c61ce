"""Support staff read texts and alerts; changes of status still go only through the services."""

from django.contrib import admin

from messaging.models import Alert, InboundMessage, MessagingSettings, OptInRequest, OutboundMessage, WebhookEvent


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(admin.ModelAdmin):
    list_display = ["account", "webhook_url", "updated_at"]
    search_fields = ["account__name", "account__slug"]
    readonly_fields = ["webhook_secret", "widget_key"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "stage", "total", "sent_count", "blocked_count", "failed_count", "created_at"]
    list_filter = ["stage", "account"]
    search_fields = ["body"]
    readonly_fields = [f.name for f in Alert._meta.fields]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["phone", "kind", "status", "account", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["phone", "provider_id"]
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
    raw_id_fields = ["alert"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["phone", "meaning", "body", "account", "forward", "received_at"]
    list_filter = ["meaning", "forward"]
    search_fields = ["phone", "message_sid", "body"]
    readonly_fields = [f.name for f in InboundMessage._meta.fields]


@admin.register(OptInRequest)
class OptInRequestAdmin(admin.ModelAdmin):
    list_display = ["phone", "account", "source", "state", "created_at", "expires_at"]
    list_filter = ["state", "source"]
    search_fields = ["phone"]
    readonly_fields = [f.name for f in OptInRequest._meta.fields]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "phone", "account", "state", "attempts", "created_at"]
    list_filter = ["kind", "state"]
    search_fields = ["phone"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
