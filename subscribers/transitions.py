"""The status rules of SPEC §3 as one table of data.

The single-number service (subscribers.services) and the set-based import engine both read this
table; nothing else decides what a status may become. Each entry answers: "this action, by this
source, on a number in this state" → a new state with an outcome, or a refusal with a reason.
"""

from dataclasses import dataclass
from enum import StrEnum

from subscribers.models import OptedOutBy, Source, Status


class State(StrEnum):
    """A number's state as the rules see it: status, and for opt-outs who made them."""

    NONE = "none"  # the account does not have the number
    PENDING = "pending"
    OPTED_IN = "opted_in"
    SUSPENDED = "suspended"
    OUT_SUBSCRIBER = "opted_out_subscriber"
    OUT_CUSTOMER = "opted_out_customer"

    @classmethod
    def of(cls, status: str | None, opted_out_by: str = "") -> "State":
        if not status:
            return cls.NONE
        if status == Status.OPTED_OUT:
            return cls.OUT_SUBSCRIBER if opted_out_by == OptedOutBy.SUBSCRIBER else cls.OUT_CUSTOMER
        return cls(status)

    @property
    def status(self) -> str:
        """The stored status ("" for a number the account does not have)."""
        if self is State.NONE:
            return ""
        if self in (State.OUT_SUBSCRIBER, State.OUT_CUSTOMER):
            return Status.OPTED_OUT
        return self.value

    @property
    def opted_out_by(self) -> str:
        return {State.OUT_SUBSCRIBER: OptedOutBy.SUBSCRIBER, State.OUT_CUSTOMER: OptedOutBy.CUSTOMER}.get(self, "")


# What is billed as new: a number entering one of these states in an account for the first time. An opt-out,
# suspension or STOP of a number the account never had is recorded, never new.
BILLABLE = (State.OPTED_IN, State.PENDING)
BILLABLE_STATUSES = tuple(state.status for state in BILLABLE)


class Action(StrEnum):
    OPT_IN = "opt_in"  # the utility opts a number in: import, API, manager, support
    REACTIVATE = "reactivate"  # the utility lifts a suspension
    SUSPEND = "suspend"  # the utility pauses alerts (soft opt-out)
    OPT_OUT = "opt_out"  # the utility opts a number out (hard opt-out)
    STOP = "stop"  # the phone's owner texts STOP or another opt-out word
    START = "start"  # the phone's owner texts START, UNSTOP or an opt-in keyword
    REQUEST = "request"  # a double opt-in request is sent (widget, API, manager)
    CONFIRM = "confirm"  # the phone's owner answers YES to a double opt-in request
    EXPIRE = "expire"  # a pending request was not answered within 7 days


class Outcome(StrEnum):
    OPTED_IN = "opted_in"
    REACTIVATED = "reactivated"
    SUSPENDED = "suspended"
    OPTED_OUT = "opted_out"
    PENDING = "pending"
    EXPIRED = "expired"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    to: State
    outcome: Outcome


class Reason(StrEnum):
    """Why the rules refuse a change: the code the API answers, an import records and a page explains."""

    OPTED_OUT = "opted_out"
    NOT_FOUND = "not_found"
    PENDING = "pending"
    ALREADY_OPTED_IN = "already_opted_in"
    NO_REQUEST = "no_request"


@dataclass(frozen=True)
class Refusal:
    code: Reason
    detail: str  # a sentence for the person who asked


def _same(state: State) -> Change:
    return Change(state, Outcome.UNCHANGED)


_OUT_BY_OWNER = Refusal(
    Reason.OPTED_OUT,
    "This number opted out by texting STOP. Only its owner can opt back in: send a double opt-in request instead.",
)
_OUT_BY_CUSTOMER = Refusal(
    Reason.OPTED_OUT,
    "This number was opted out by your organisation. Opting out cannot be undone by an import, the API "
    "or a manager: only its owner can opt back in, so send a double opt-in request instead.",
)
REFUSED_NOT_FOUND = Refusal(Reason.NOT_FOUND, "This number is not on the list.")
REFUSED_PENDING = Refusal(
    Reason.PENDING, "This number is waiting for its owner to reply YES to a double opt-in request."
)

S = State
A = Action
O = Outcome  # noqa: E741 - a table reads better with short names

TABLE: dict[Action, dict[State, Change | Refusal]] = {
    A.OPT_IN: {
        S.NONE: Change(S.OPTED_IN, O.OPTED_IN),
        S.PENDING: Change(S.OPTED_IN, O.OPTED_IN),
        S.OPTED_IN: _same(S.OPTED_IN),
        S.SUSPENDED: Change(S.OPTED_IN, O.REACTIVATED),
        S.OUT_SUBSCRIBER: _OUT_BY_OWNER,
        S.OUT_CUSTOMER: _OUT_BY_CUSTOMER,
    },
    A.REACTIVATE: {
        S.NONE: REFUSED_NOT_FOUND,
        S.PENDING: REFUSED_PENDING,
        S.OPTED_IN: _same(S.OPTED_IN),
        S.SUSPENDED: Change(S.OPTED_IN, O.REACTIVATED),
        S.OUT_SUBSCRIBER: _OUT_BY_OWNER,
        S.OUT_CUSTOMER: _OUT_BY_CUSTOMER,
    },
    A.SUSPEND: {
        S.NONE: REFUSED_NOT_FOUND,
        S.PENDING: REFUSED_PENDING,
        S.OPTED_IN: Change(S.SUSPENDED, O.SUSPENDED),
        S.SUSPENDED: _same(S.SUSPENDED),
        S.OUT_SUBSCRIBER: _same(S.OUT_SUBSCRIBER),
        S.OUT_CUSTOMER: _same(S.OUT_CUSTOMER),
    },
    A.OPT_OUT: {
        # Opting out a number the account never had records it, so no later import can add it.
        S.NONE: Change(S.OUT_CUSTOMER, O.OPTED_OUT),
        S.PENDING: Change(S.OUT_CUSTOMER, O.OPTED_OUT),
        S.OPTED_IN: Change(S.OUT_CUSTOMER, O.OPTED_OUT),
        S.SUSPENDED: Change(S.OUT_CUSTOMER, O.OPTED_OUT),
        S.OUT_SUBSCRIBER: _same(S.OUT_SUBSCRIBER),
        S.OUT_CUSTOMER: _same(S.OUT_CUSTOMER),
    },
    A.STOP: {
        # A STOP from an unknown number creates an opted-out record so a later import cannot add it.
        S.NONE: Change(S.OUT_SUBSCRIBER, O.OPTED_OUT),
        S.PENDING: Change(S.OUT_SUBSCRIBER, O.OPTED_OUT),
        S.OPTED_IN: Change(S.OUT_SUBSCRIBER, O.OPTED_OUT),
        S.SUSPENDED: Change(S.OUT_SUBSCRIBER, O.OPTED_OUT),
        # The owner's own STOP is the stronger record: it is what a regulator asks about.
        S.OUT_CUSTOMER: Change(S.OUT_SUBSCRIBER, O.OPTED_OUT),
        S.OUT_SUBSCRIBER: _same(S.OUT_SUBSCRIBER),
    },
    A.START: {
        S.NONE: Change(S.OPTED_IN, O.OPTED_IN),
        S.PENDING: Change(S.OPTED_IN, O.OPTED_IN),
        S.OPTED_IN: _same(S.OPTED_IN),
        S.SUSPENDED: Change(S.OPTED_IN, O.REACTIVATED),
        S.OUT_SUBSCRIBER: Change(S.OPTED_IN, O.OPTED_IN),
        S.OUT_CUSTOMER: Change(S.OPTED_IN, O.OPTED_IN),
    },
    A.REQUEST: {
        S.NONE: Change(S.PENDING, O.PENDING),
        S.PENDING: _same(S.PENDING),
        S.OPTED_IN: Refusal(Reason.ALREADY_OPTED_IN, "This number is already opted in."),
        # These keep their status until the owner answers YES; the request itself is recorded by messaging.
        S.SUSPENDED: _same(S.SUSPENDED),
        S.OUT_SUBSCRIBER: _same(S.OUT_SUBSCRIBER),
        S.OUT_CUSTOMER: _same(S.OUT_CUSTOMER),
    },
    A.CONFIRM: {
        S.NONE: Refusal(Reason.NO_REQUEST, "This number has no double opt-in request to confirm."),
        S.PENDING: Change(S.OPTED_IN, O.OPTED_IN),
        S.OPTED_IN: _same(S.OPTED_IN),
        S.SUSPENDED: Change(S.OPTED_IN, O.REACTIVATED),
        S.OUT_SUBSCRIBER: Change(S.OPTED_IN, O.OPTED_IN),
        S.OUT_CUSTOMER: Change(S.OPTED_IN, O.OPTED_IN),
    },
    A.EXPIRE: {
        S.NONE: _same(S.NONE),
        S.PENDING: Change(S.NONE, O.EXPIRED),
        S.OPTED_IN: _same(S.OPTED_IN),
        S.SUSPENDED: _same(S.SUSPENDED),
        S.OUT_SUBSCRIBER: _same(S.OUT_SUBSCRIBER),
        S.OUT_CUSTOMER: _same(S.OUT_CUSTOMER),
    },
}

# Who may take each action. Only the phone's owner (keyword, YES) can lift an opt-out.
ALLOWED_SOURCES: dict[Action, frozenset[str]] = {
    A.OPT_IN: frozenset({Source.IMPORT, Source.API, Source.MANAGER, Source.SUPPORT}),
    A.REACTIVATE: frozenset({Source.IMPORT, Source.API, Source.MANAGER, Source.SUPPORT}),
    A.SUSPEND: frozenset({Source.IMPORT, Source.API, Source.MANAGER, Source.SUPPORT}),
    A.OPT_OUT: frozenset({Source.IMPORT, Source.API, Source.MANAGER, Source.SUPPORT, Source.REASSIGNED}),
    # The carrier's opt-out block (error 21610) is the owner's STOP sent to the carrier instead of to us.
    # Staff (a manager, support, the API) record a revocation that reached them another way: still the owner's.
    A.STOP: frozenset({Source.KEYWORD, Source.CARRIER, Source.MANAGER, Source.SUPPORT, Source.API}),
    A.START: frozenset({Source.KEYWORD}),
    A.REQUEST: frozenset({Source.WIDGET, Source.API, Source.MANAGER, Source.SUPPORT}),
    A.CONFIRM: frozenset({Source.DOUBLE_OPT_IN}),
    A.EXPIRE: frozenset({Source.EXPIRY}),
}


def decide(action: Action, state: State) -> Change | Refusal:
    return TABLE[action][state]


def states_that(action: Action, outcome: Outcome) -> list[State]:
    """The starting states from which `action` has `outcome`: what a set-based path selects on."""
    return [
        state for state, result in TABLE[action].items() if isinstance(result, Change) and result.outcome == outcome
    ]


def refused_states(action: Action) -> dict[State, Refusal]:
    return {state: result for state, result in TABLE[action].items() if isinstance(result, Refusal)}
