from django.contrib import admin

from imports.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "file_name", "started_by", "created_at"]
    list_filter = ["account"]
    search_fields = ["file_name", "account__name", "account__slug"]
