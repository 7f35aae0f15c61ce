"""The campaign registry's rules for brand and campaign fields, in one place.

The forms check them before anything is submitted, so a manager fixes a mistake at once instead of
waiting a minute for the registry to refuse it; the simulated registry applies the same rules, as
the real one does on its side.
"""

import re
from dataclasses import dataclass

# IRS campus prefixes never assigned to an EIN; the registry refuses them.
_UNASSIGNED_EIN_PREFIXES = frozenset(
    {"00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97"}
)
_EIN = re.compile(r"^(\d{2})-?(\d{7})$")

DESCRIPTION_LENGTH = (40, 4096)
MESSAGE_FLOW_LENGTH = (40, 2048)
SAMPLE_LENGTH = (20, 1024)
SAMPLES_COUNT = (1, 5)
KEYWORD_TEXT_LENGTH = (20, 320)
KEYWORDS_MAX_LENGTH = 255
KEYWORD = re.compile(r"^[A-Za-z0-9]{1,30}$")

# The words carriers look for in an opt-in confirmation.
RATES_WORDS = ("msg&data rates may apply", "msg & data rates may apply", "message and data rates may apply")
CARRIER_WORDS = "Msg&Data rates may apply. Reply HELP for help, STOP to opt out."


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def ein_normalise(value: str) -> str | None:
    """`12-3456789` for an EIN the IRS could have issued, else None."""
    match = _EIN.match(value.strip())
    if match is None or match.group(1) in _UNASSIGNED_EIN_PREFIXES:
        return None
    return f"{match.group(1)}-{match.group(2)}"


def keywords_parse(value: str) -> list[str]:
    return [word.strip().upper() for word in value.replace(";", ",").split(",") if word.strip()]


def _length(field: str, label: str, value: str, bounds: tuple[int, int]) -> list[Problem]:
    low, high = bounds
    size = len(value.strip())
    if size < low:
        return [Problem(field, f"{label} must be at least {low} characters (it has {size}).")]
    if size > high:
        return [Problem(field, f"{label} must be at most {high} characters (it has {size}).")]
    return []


def _mentions(text: str, words: str) -> bool:
    return words.casefold() in text.casefold()


def _names_brand(text: str, brand_names: tuple[str, ...]) -> bool:
    return any(name and _mentions(text, name) for name in brand_names)


def brand_problems(brand: dict) -> list[Problem]:
    problems = []
    if not brand.get("legal_name", "").strip():
        problems.append(Problem("legal_name", "Enter the organisation's legal name."))
    if ein_normalise(brand.get("tax_id", "")) is None:
        problems.append(
            Problem("tax_id", "Enter the EIN as 9 digits, NN-NNNNNNN, with a prefix the IRS assigns (not 00, 07…).")
        )
    if brand.get("country") not in ("US", "CA"):
        problems.append(Problem("country", "The registry registers brands in the United States or Canada only."))
    if len(brand.get("contact_name", "").split()) < 2:
        problems.append(Problem("contact_name", "Enter the contact's first and last name."))
    website = brand.get("website", "")
    if not website.startswith(("https://", "http://")):
        problems.append(Problem("website", "Enter the website's full address, starting with https://."))
    return problems


def campaign_problems(campaign: dict, *, brand_names: tuple[str, ...]) -> list[Problem]:
    """Every rule a campaign breaks; one of `brand_names` must appear where carriers look for who is texting."""
    brand_name = " or ".join(name for name in brand_names if name)
    problems = []
    problems += _length("description", "The description", campaign.get("description", ""), DESCRIPTION_LENGTH)
    problems += _length("message_flow", "The message flow", campaign.get("message_flow", ""), MESSAGE_FLOW_LENGTH)

    samples = [sample for sample in campaign.get("sample_messages", []) if sample.strip()]
    if not SAMPLES_COUNT[0] <= len(samples) <= SAMPLES_COUNT[1]:
        problems.append(Problem("sample_messages", "Give between 1 and 5 sample messages."))
    for number, sample in enumerate(campaign.get("sample_messages", []), start=1):
        if sample.strip():
            problems += _length(f"sample_{number}", f"Sample message {number}", sample, SAMPLE_LENGTH)
    if samples and brand_name and not any(_names_brand(sample, brand_names) for sample in samples):
        problems.append(Problem("sample_1", f"At least one sample message must name the brand ({brand_name})."))

    for kind, label, required in (("opt_in", "Opt-in", None), ("opt_out", "Opt-out", "STOP"), ("help", "Help", "HELP")):
        field = f"{kind}_keywords"
        raw = campaign.get(field, "")
        words = keywords_parse(raw)
        if not words:
            problems.append(Problem(field, f"Enter at least one {label.lower()} keyword."))
        elif len(raw) > KEYWORDS_MAX_LENGTH:
            problems.append(Problem(field, f"{label} keywords must be at most {KEYWORDS_MAX_LENGTH} characters."))
        elif bad := [word for word in words if not KEYWORD.match(word)]:
            problems.append(Problem(field, f"Keywords are single words of letters and digits: {', '.join(bad)}."))
        elif required and required not in words:
            problems.append(Problem(field, f"{label} keywords must include {required}."))

        message_field = f"{kind}_message"
        message = campaign.get(message_field, "")
        found = _length(message_field, f"The {label.lower()} message", message, KEYWORD_TEXT_LENGTH)
        if not found and brand_name and not _names_brand(message, brand_names):
            found.append(Problem(message_field, f"The {label.lower()} message must name the brand ({brand_name})."))
        problems += found

    opt_in = campaign.get("opt_in_message", "").casefold()
    if opt_in and not any(words in opt_in for words in RATES_WORDS):
        problems.append(Problem("opt_in_message", "The opt-in message must say “Msg&Data rates may apply”."))
    if opt_in and ("help" not in opt_in or "stop" not in opt_in):
        problems.append(
            Problem("opt_in_message", "The opt-in message must tell people to reply HELP for help and STOP to opt out.")
        )
    help_message = campaign.get("help_message", "")
    if help_message and not re.search(r"@|\d{3}\D{0,2}\d{3}\D?\d{4}", help_message):
        problems.append(
            Problem("help_message", "The help message must give a phone number or an email address for support.")
        )
    return problems
