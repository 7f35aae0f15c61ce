"""The dashboard's first steps: each step is ticked by what its own app says, composed here above the apps."""

from dataclasses import dataclass

from django.urls import reverse

from imports.selectors import list_imported
from messaging.models import Alert
from registration.selectors import registration_gap
from subscribers.models import Account, Membership, Role, Subscriber


@dataclass(frozen=True)
class GuideStep:
    key: str
    title: str
    text: str
    url: str
    link: str
    done: bool


def first_run_guide(*, account: Account) -> list[GuideStep] | None:
    """The dashboard's first steps for a new account, each ticked once done; None once dismissed or all done."""
    if account.guide_dismissed_at is not None:
        return None
    list_in = Subscriber.objects.filter(account=account).exists() or list_imported(account=account)
    steps = [
        GuideStep(
            "registration",
            "Register your brand and campaign",
            "Carriers block texts from unregistered numbers: register who you are and what you text.",
            reverse("registration:brand"),
            "Registration",
            not registration_gap(account=account),
        ),
        GuideStep(
            "list",
            "Bring your list in",
            "Upload an export of your billing system, have it dropped over SFTP every night, or send it by the API.",
            reverse("imports:upload"),
            "Upload a file",
            list_in,
        ),
        GuideStep(
            "uploader",
            "Invite an uploader",
            "Someone who sends the files in, and may do nothing else.",
            reverse("people"),
            "People",
            Membership.objects.filter(account=account, role=Role.UPLOADER).exists(),
        ),
        GuideStep(
            "test_alert",
            "Send a test alert to yourself",
            "Add your own mobile number with a tag such as “Test”, then send an alert to that tag only.",
            reverse("messaging:alert_new"),
            "New alert",
            Alert.objects.filter(account=account).exists(),
        ),
    ]
    if all(step.done for step in steps):
        return None
    return steps
