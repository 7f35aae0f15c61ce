"""The shapes the REST API reads and writes; the OpenAPI schema is generated from them."""

import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints

from subscribers.models import LANGUAGE_CHOICES, Channel, OptedOutBy, Source, Status, Tag
from subscribers.transitions import Outcome

EXAMPLE_PHONE = "+12025550173"
EXAMPLE_TIME = "2026-11-30T15:04:05Z"


def _printable(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError("may not contain control characters")
    return value


def _iso_date_text(value):
    # Pydantic would read a number as a day counted from 1970; the schema says a "YYYY-MM-DD" string.
    if not isinstance(value, str):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


TagName = Annotated[str, StringConstraints(max_length=Tag.MAX_LENGTH), AfterValidator(_printable)]
StatusName = Literal[tuple(Status.values)]
OptedOutByName = Literal[tuple(OptedOutBy.values)]
OutcomeName = Literal[tuple(o.value for o in Outcome)]
LanguageName = Literal[tuple(code for code, _ in LANGUAGE_CHOICES)]
ChannelName = Literal[tuple(c for c in Channel.values if c != Channel.SMS)]


class ErrorOut(Schema):
    error: str = Field(description="A machine-readable code", examples=["opted_out"])
    detail: str = Field(
        description="A sentence for a person",
        examples=["This number opted out by texting STOP. Only its owner can opt back in."],
    )
    field: str | None = Field(None, description="The input the error is about, if one", examples=["phone"])


class SubscriberOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": EXAMPLE_PHONE,
                    "status": "opted_in",
                    "opted_out_by": None,
                    "tags": ["District 4"],
                    "first_seen": EXAMPLE_TIME,
                    "status_changed": EXAMPLE_TIME,
                    "language": "en",
                }
            ]
        }
    )

    phone: str = Field(description="E.164", examples=[EXAMPLE_PHONE])
    status: StatusName = Field(examples=["opted_in"])
    opted_out_by: OptedOutByName | None = Field(
        description="Who opted the number out: its owner (texting STOP) or the utility", examples=[None]
    )
    tags: list[str] = Field(examples=[["District 4"]])
    first_seen: datetime
    status_changed: datetime
    language: LanguageName = Field(description="The language every text to the number is sent in", examples=["en"])


LineTypeName = Literal["mobile", "landline", "voip", "unknown"]


class SubscriberReadOut(SubscriberOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": EXAMPLE_PHONE,
                    "status": "opted_in",
                    "opted_out_by": None,
                    "tags": ["District 4"],
                    "first_seen": EXAMPLE_TIME,
                    "status_changed": EXAMPLE_TIME,
                    "language": "en",
                    "line_type": "mobile",
                    "unreachable": False,
                }
            ]
        }
    )

    line_type: LineTypeName = Field(
        description="What the carriers say the number is: `unknown` until a lookup or a delivery receipt says more",
        examples=["mobile"],
    )
    unreachable: bool = Field(
        description="Its last texts could not be delivered: blocked from alerts until one is, or a manager clears it"
    )


class SubscriberChangeOut(SubscriberOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "phone": EXAMPLE_PHONE,
                    "status": "opted_in",
                    "opted_out_by": None,
                    "tags": ["District 4"],
                    "first_seen": EXAMPLE_TIME,
                    "status_changed": EXAMPLE_TIME,
                    "language": "en",
                    "outcome": "opted_in",
                    "is_new": True,
                    "tags_added": ["District 4"],
                    "tags_removed": [],
                }
            ]
        }
    )

    outcome: OutcomeName = Field(description="What this request did to the number", examples=["opted_in"])
    is_new: bool = Field(
        description="Billed as new: the number is opted in (or pending) in the account for the first time. An opt-out "
        "of a number the account never had is recorded (it blocks later imports) but is not new"
    )
    tags_added: list[str]
    tags_removed: list[str]


class SubscriberPage(Schema):
    items: list[SubscriberReadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
    next: str | None = Field(description="The URL of the next page; null on the last page")


class OptInIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tags": ["District 4", "Feeder B2"], "language": "es"}]})

    tags: list[TagName] = Field(default_factory=list, max_length=100, description="Tags to add")
    language: LanguageName | None = Field(None, description="The number's language (unchanged if left out)")


class LanguageIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"language": "fr"}]})

    language: LanguageName = Field(description="en, es or fr")


class RevocationIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"channel": "phone", "received_on": "2026-12-07", "note": "Called the service desk"}]
        }
    )

    channel: ChannelName = Field(description="How the request reached the utility")
    received_on: Annotated[date, BeforeValidator(_iso_date_text)] = Field(
        description="The day it was received (not in the future)", examples=["2026-12-07"]
    )
    note: str = Field("", max_length=200, description="Who took it, an email's subject…")


class TagsIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tags": ["District 4"]}]})

    tags: list[TagName] = Field(max_length=100, description="The number's tags, exactly")


class ConsentEventOut(Schema):
    at: datetime
    old_status: str = Field(description="Empty when the number was not on the list", examples=[""])
    new_status: str = Field(description="Empty when the number left the list", examples=["opted_in"])
    opted_out_by: OptedOutByName | None = Field(examples=[None])
    change: str = Field(examples=["not on the list → Opted in"])
    source: str = Field(
        description=", ".join(Source.values),
        examples=["widget"],
    )
    who: str = Field(examples=["A visitor of the web widget"])
    channel: str = Field(description="How the change arrived", examples=["Web widget"])
    import_run: int | None = Field(description="The import run that made it", examples=[None])
    file_name: str = Field(description="That run's file", examples=[""])
    page_url: str = Field(description="The web page the widget was on", examples=["https://example.com/alerts"])
    client_ip: str | None = Field(description="The widget visitor's address", examples=["203.0.113.9"])
    text_received: str = Field(description="The text from the phone that caused it (STOP, YES, a keyword)")
    message_sid: str
    tags_added: list[str]
    tags_removed: list[str]
    note: str


class ConsentTextOut(Schema):
    at: datetime
    kind: str = Field(description="alert, welcome, opt_out, help, request, confirmation", examples=["request"])
    body: str
    sender: str
    status: str = Field(description="queued, sending, sent, delivered, failed, blocked", examples=["delivered"])
    error: str


class ConsentOut(Schema):
    phone: str = Field(description="E.164", examples=[EXAMPLE_PHONE])
    events: list[ConsentEventOut] = Field(description="Every opt event of the number, newest last")
    texts: list[ConsentTextOut] = Field(description="Every text sent to the number, newest last")
