"""What the list announces to the apps above it, which it does not know: they connect to these when they load."""

from django.dispatch import Signal

# Numbers or consent records left the app (a download, an export job, a printed record): the audit log records it.
# Sent with account, user, action, summary and details.
exported = Signal()
