from django.db.models import Prefetch

from messaging.keywords import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, keyword_clean
from messaging.models import Alert, MessagingSettings, default_texts
from registration import rules
from registration.models import Brand, Campaign, RegistrationStatus, TextingNumber
from subscribers import phones
from subscribers.models import Account, Membership


def account_brand(*, account: Account) -> Brand | None:
    return Brand.objects.filter(account=account).first()


def members_with_numbers(*, account: Account) -> list[Membership]:
    numbers = TextingNumber.objects.filter(account=account).order_by("created_at", "id")
    return list(
        Membership.objects.filter(account=account)
        .select_related("user")
        .prefetch_related(Prefetch("user__texting_numbers", queryset=numbers, to_attr="numbers"))
        .order_by("user__username")
    )


def sms_enabled_numbers(*, account: Account):
    return TextingNumber.objects.filter(account=account, sms_enabled=True).select_related("user").order_by("phone")


def campaign_brand_names(*, account: Account, brand: Brand | None) -> tuple[str, ...]:
    """The names carriers accept as "who is texting": the legal name, or the name the account texts as."""
    names = [brand.legal_name] if brand is not None else []
    if account.name not in names:
        names.append(account.name)
    return tuple(names)


def _has_contact(text: str) -> bool:
    return "@" in text or sum(char.isdigit() for char in text) >= 10


def campaign_initial(*, account: Account, brand: Brand) -> dict:
    """A new campaign's fields, filled in from the texts this account really sends.

    The replies and keywords are the account's own (messaging settings, or the defaults it would get),
    so what is registered is what the keyword engine answers; the help reply gains the brand's support
    contact when it has none, as the registry requires. Sample messages are the latest alerts sent.
    """
    texts = MessagingSettings.objects.filter(account=account).first()
    if texts is not None:
        replies = {"welcome_text": texts.welcome_text, "opt_out_text": texts.opt_out_text, "help_text": texts.help_text}
        account_keywords = [keyword_clean(word).upper() for word in texts.opt_in_keywords if keyword_clean(word)]
    else:
        replies = default_texts(account.name)
        account_keywords = []
    help_text = replies["help_text"]
    if not _has_contact(help_text):
        contact = f" Support: {phones.format_national(brand.support_phone)}, {brand.support_email}."
        if len(help_text) + len(contact) <= rules.KEYWORD_TEXT_LENGTH[1]:
            help_text += contact
    samples = list(
        dict.fromkeys(Alert.objects.filter(account=account).order_by("-created_at").values_list("body", flat=True)[:20])
    )[:2] or [
        f"{account.name}: An outage is affecting your area. Crews are on the way. Reply STOP to opt out.",
        f"{account.name}: Power has been restored in your area. Thank you for your patience.",
    ]
    initial = {
        "use_case": "PUBLIC_SERVICE_ANNOUNCEMENT",
        "description": (
            f"{brand.legal_name} texts its customers about power, water or gas outages in their area: when an "
            "outage starts, when crews are on site, and when service is restored."
        ),
        "message_flow": (
            f"Customers opt in by texting a keyword to {account.name}'s number, on the sign-up form on "
            f"{brand.website}, or when they give their mobile number to customer service; they confirm "
            "with a reply of YES before receiving alerts."
        ),
        "opt_in_keywords": ", ".join(dict.fromkeys([*(w.upper() for w in sorted(OPT_IN_WORDS)), *account_keywords])),
        "opt_in_message": replies["welcome_text"],
        "opt_out_keywords": ", ".join(word.upper() for word in sorted(OPT_OUT_WORDS, key=lambda w: (w != "stop", w))),
        "opt_out_message": replies["opt_out_text"],
        "help_keywords": ", ".join(word.upper() for word in sorted(HELP_WORDS)),
        "help_message": help_text,
    }
    for number, sample in enumerate(samples, start=1):
        initial[f"sample_{number}"] = sample
    return initial


def registration_gap(*, account: Account) -> str:
    """What keeps the account's texts from being registered 10DLC traffic, in a sentence; empty when the brand and
    at least one campaign are verified. Carriers block or filter unregistered traffic, so alerts may not arrive."""
    brand = account_brand(account=account)
    if brand is None or brand.status != RegistrationStatus.VERIFIED:
        state = "is not registered" if brand is None else f"is {brand.get_status_display().lower()}, not verified"
        return f"Your brand {state}."
    if not Campaign.objects.filter(account=account, status=RegistrationStatus.VERIFIED).exists():
        return "No campaign of yours is verified yet."
    return ""
