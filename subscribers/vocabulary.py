"""The list's words, one table per vocabulary: what a manager can do to numbers (one or many), why the status
rules refuse a change, and who opted a number out.

The codes are the status rules' own (subscribers.transitions); pages, the API, exports and admin read their
words here, so a word changed here changes wherever it is shown.
"""

from dataclasses import dataclass
from enum import StrEnum

from subscribers.models import OptedOutBy
from subscribers.transitions import REFUSED_NOT_FOUND, REFUSED_PENDING, Action, Reason


class ListAction(StrEnum):
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    OPT_OUT = "opt_out"
    DELETE = "delete"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"


@dataclass(frozen=True)
class ListActionWords:
    transition: Action | None  # the status rule it applies; None for deleting and tagging
    stops: bool  # numbers no longer receive alerts after it, so it is confirmed once before it runs
    label: str
    explain_many: str  # on the bulk confirmation
    done_many: str = ""  # after the count in the bulk message ("12 numbers suspended.")
    # On a number's own page; an action without these is offered in bulk only.
    explain_one: str = ""
    done_one: str = ""

    @property
    def on_one(self) -> bool:
        return bool(self.done_one)


LIST_ACTIONS: dict[ListAction, ListActionWords] = {
    ListAction.SUSPEND: ListActionWords(
        transition=Action.SUSPEND,
        stops=True,
        label="Suspend",
        explain_many="They will stop receiving alerts until reactivated.",
        done_many="suspended",
        explain_one="It will stop receiving alerts until you, an import or the API reactivates it.",
        done_one="is suspended: it no longer receives alerts.",
    ),
    ListAction.REACTIVATE: ListActionWords(
        transition=Action.REACTIVATE,
        stops=False,
        label="Reactivate",
        explain_many="Suspended numbers among them will receive alerts again.",
        done_many="reactivated",
        explain_one="It will receive alerts again.",
        done_one="is reactivated and receives alerts again.",
    ),
    ListAction.OPT_OUT: ListActionWords(
        transition=Action.OPT_OUT,
        stops=True,
        label="Opt out",
        explain_many="They will stop receiving alerts for good: only their owners can opt back in, by text.",
        done_many="opted out",
        explain_one="It will stop receiving alerts for good: after this only its owner can opt back in, by text.",
        done_one="is opted out.",
    ),
    ListAction.DELETE: ListActionWords(
        transition=None,
        stops=True,
        label="Delete",
        explain_many="They will be removed from the list with their tags. Their history is kept; opted-out "
        "numbers (by their owners or by you) stay blocked from imports until their owners opt back in.",
        done_many="deleted",
        explain_one="It will be removed from the list with its tags. Its history is kept, and if it is opted out "
        "(by its owner or by you) it stays blocked from imports, the API and managers until its owner opts back in.",
        done_one="is deleted from the list.",
    ),
    ListAction.ADD_TAG: ListActionWords(transition=None, stops=False, label="Add a tag", explain_many=""),
    ListAction.REMOVE_TAG: ListActionWords(transition=None, stops=False, label="Remove a tag", explain_many=""),
}
TAG_ACTIONS = (ListAction.ADD_TAG, ListAction.REMOVE_TAG)


@dataclass(frozen=True)
class ReasonWords:
    label: str  # the name of a figure that counts them ("Not on the list")
    text: str  # one number's refusal, in a clerk's words
    many: str = ""  # after the count in a bulk change's message ("12 not on the list")


# The refusals an import or a bulk change reports; the API answers each refusal's own sentence instead.
REASONS: dict[Reason, ReasonWords] = {
    Reason.OPTED_OUT: ReasonWords(
        label="Opted out by their owner",
        text="This number opted out. Only its owner can opt back in, by texting the keyword or START.",
        many="opted out (only their owners can opt back in)",
    ),
    Reason.NOT_FOUND: ReasonWords(label="Not on the list", text=REFUSED_NOT_FOUND.detail, many="not on the list"),
    Reason.PENDING: ReasonWords(
        label="Waiting for their owner's YES",
        text=REFUSED_PENDING.detail,
        many="waiting for their owners to confirm a double opt-in request",
    ),
}


@dataclass(frozen=True)
class OptedOutByWords:
    record: str  # in a consent record and a number's history, read by support staff and regulators too
    to_manager: str  # in the list, to the utility's own manager
    detail: str  # on the number's page


# The export and admin show the model's own labels (OptedOutBy.label: "The subscriber", "The utility").
OPTED_OUT_BY: dict[OptedOutBy, OptedOutByWords] = {
    OptedOutBy.SUBSCRIBER: OptedOutByWords(
        record="by its owner", to_manager="by its owner", detail="its owner (texted STOP or similar)"
    ),
    OptedOutBy.CUSTOMER: OptedOutByWords(
        record="by the utility", to_manager="by you", detail="your organisation (a manager, the API or an import)"
    ),
}


def opted_out_by_words(opted_out_by: str, form: str) -> str:
    """`form` is one of OptedOutByWords' fields; "" for a number nobody opted out."""
    words = OPTED_OUT_BY.get(opted_out_by)
    return getattr(words, form) if words else ""
