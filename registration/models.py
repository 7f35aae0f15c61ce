"""Text registration (US 10DLC): the account's brand, its campaigns, and the numbers its users text from.

Models hold data only; submissions to the campaign registry and the one-enabled-number rule live in
registration.services.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from subscribers.models import Account


class RegistrationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending"
    VERIFIED = "verified", "Verified"
    UNVERIFIED = "unverified", "Unverified"
    FAILED = "failed", "Failed"


class EntityType(models.TextChoices):
    PRIVATE_PROFIT = "PRIVATE_PROFIT", "Private company"
    PUBLIC_PROFIT = "PUBLIC_PROFIT", "Publicly traded company"
    NON_PROFIT = "NON_PROFIT", "Non-profit (co-operatives included)"
    GOVERNMENT = "GOVERNMENT", "Government (municipal utilities included)"


class Vertical(models.TextChoices):
    ENERGY = "ENERGY", "Energy and utilities"
    GOVERNMENT = "GOVERNMENT", "Government services"
    NON_PROFIT = "NGO", "Non-profit organisation"
    COMMUNICATION = "COMMUNICATION", "Communication and telecom"
    TECHNOLOGY = "TECHNOLOGY", "Technology"
    OTHER = "OTHER", "Other"


class Country(models.TextChoices):
    US = "US", "United States"
    CA = "CA", "Canada"


class UseCase(models.TextChoices):
    PUBLIC_SERVICE_ANNOUNCEMENT = "PUBLIC_SERVICE_ANNOUNCEMENT", "Public service announcement"
    ACCOUNT_NOTIFICATION = "ACCOUNT_NOTIFICATION", "Account notifications"
    CUSTOMER_CARE = "CUSTOMER_CARE", "Customer care"
    MIXED = "MIXED", "Mixed"


class Registration(models.Model):
    """What the registry said about the latest submission.

    `attempt` grows with every submission, so a job still waiting on an older one can tell it is stale.
    """

    status = models.CharField(max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.DRAFT)
    failure_reason = models.TextField(blank=True)
    registry_reference = models.CharField(max_length=64, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_pending(self) -> bool:
        return self.status == RegistrationStatus.PENDING


class Brand(Registration):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="brand")
    legal_name = models.CharField(max_length=255)
    tax_id = models.CharField("Tax id (EIN)", max_length=10, help_text="NN-NNNNNNN")
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    vertical = models.CharField(max_length=20, choices=Vertical.choices, default=Vertical.ENERGY)
    street = models.CharField(max_length=100)
    city = models.CharField(max_length=100)
    state = models.CharField("State or province", max_length=20)
    postal_code = models.CharField(max_length=10)
    country = models.CharField(max_length=2, choices=Country.choices, default=Country.US)
    website = models.URLField(max_length=100)
    # The registry wants a person who answers for the brand, not only a mailbox.
    contact_name = models.CharField("Contact name", max_length=100, default="", blank=False)
    contact_title = models.CharField("Contact's job title", max_length=100, default="", blank=False)
    support_email = models.EmailField(max_length=100)
    support_phone = models.CharField(max_length=16, help_text="E.164")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.legal_name


class Campaign(Registration):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    use_case = models.CharField(max_length=40, choices=UseCase.choices)
    description = models.TextField()
    message_flow = models.TextField(help_text="How people opt in")
    sample_messages = models.JSONField(default=list)
    has_embedded_links = models.BooleanField(default=False)
    has_embedded_phone = models.BooleanField(default=False)
    opt_in_keywords = models.CharField(max_length=255)
    opt_in_message = models.CharField(max_length=320)
    opt_out_keywords = models.CharField(max_length=255)
    opt_out_message = models.CharField(max_length=320)
    help_keywords = models.CharField(max_length=255)
    help_message = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_use_case_display()} ({self.get_status_display()})"


class TextingNumber(models.Model):
    """A US or Canadian number assigned to a user; at most one per user is SMS-enabled at a time."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="texting_numbers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="texting_numbers")
    phone = models.CharField(max_length=16, help_text="E.164")
    sms_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "phone"], name="textingnumber_account_phone_unique"),
            models.UniqueConstraint(
                fields=["account", "user"],
                condition=models.Q(sms_enabled=True),
                name="textingnumber_one_enabled_per_user",
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.phone
