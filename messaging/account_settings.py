"""A messaging account's settings: its texts, keywords, quiet hours and webhook."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Kind
from audit.services import audit_record
from messaging.models import MessagingSettings, default_texts
from subscribers.models import Account


def messaging_settings_get(*, account: Account) -> MessagingSettings:
    found = MessagingSettings.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MessagingSettings.objects.create(account=account, **default_texts(account.name))
    except IntegrityError:  # created meanwhile by another request
        return MessagingSettings.objects.get(account=account)


@transaction.atomic
def messaging_settings_update(*, account: Account, user=None, **fields) -> MessagingSettings:
    current = messaging_settings_get(account=account)
    current = MessagingSettings.objects.select_for_update().get(pk=current.pk)
    changed = [name for name, value in fields.items() if getattr(current, name) != value]
    for name, value in fields.items():
        setattr(current, name, value)
    current.updated_at = timezone.now()
    current.save()
    if changed:
        # Names only: the texts are on the page, and a secret has no place in the log.
        labels = [str(MessagingSettings._meta.get_field(name).verbose_name) for name in changed]
        audit_record(
            kind=Kind.SETTINGS,
            action="texts",
            summary="Text settings changed: " + ", ".join(labels),
            account=account,
            actor=user,
            details={"fields": changed},
        )
    return current


def messaging_webhook_secret_rotate(*, account: Account, user=None) -> MessagingSettings:
    from messaging.models import _new_secret

    return messaging_settings_update(account=account, user=user, webhook_secret=_new_secret())
