"""The table of cases for SPEC §3, written out from the spec by hand (not derived from the code).

Shared by the status service's tests and the import engine's tests: each case is
(action, starting state, expected state, expected outcome or refusal code).
"""

from subscribers.transitions import Action, State

N, P, I, S, OS, OC = (
    State.NONE,
    State.PENDING,
    State.OPTED_IN,
    State.SUSPENDED,
    State.OUT_SUBSCRIBER,
    State.OUT_CUSTOMER,
)
REFUSED = "refused"

# (action, from, to, outcome or "refused:<code>")
CASES = [
    # The utility opts a number in (import, API, manager): never over an opt-out.
    (Action.OPT_IN, N, I, "opted_in"),
    (Action.OPT_IN, P, I, "opted_in"),
    (Action.OPT_IN, I, I, "unchanged"),
    (Action.OPT_IN, S, I, "reactivated"),
    (Action.OPT_IN, OS, OS, "refused:opted_out"),
    (Action.OPT_IN, OC, OC, "refused:opted_out"),
    # Reactivate lifts a suspension only.
    (Action.REACTIVATE, N, N, "refused:not_found"),
    (Action.REACTIVATE, P, P, "refused:pending"),
    (Action.REACTIVATE, I, I, "unchanged"),
    (Action.REACTIVATE, S, I, "reactivated"),
    (Action.REACTIVATE, OS, OS, "refused:opted_out"),
    (Action.REACTIVATE, OC, OC, "refused:opted_out"),
    # Suspend: only opted-in numbers change; pending leaves only by YES, expiry or STOP.
    (Action.SUSPEND, N, N, "refused:not_found"),
    (Action.SUSPEND, P, P, "refused:pending"),
    (Action.SUSPEND, I, S, "suspended"),
    (Action.SUSPEND, S, S, "unchanged"),
    (Action.SUSPEND, OS, OS, "unchanged"),
    (Action.SUSPEND, OC, OC, "unchanged"),
    # The utility opts out: recorded as the customer's; an owner's STOP is never overwritten.
    (Action.OPT_OUT, N, OC, "opted_out"),
    (Action.OPT_OUT, P, OC, "opted_out"),
    (Action.OPT_OUT, I, OC, "opted_out"),
    (Action.OPT_OUT, S, OC, "opted_out"),
    (Action.OPT_OUT, OS, OS, "unchanged"),
    (Action.OPT_OUT, OC, OC, "unchanged"),
    # STOP from the handset, including from a number the account never had.
    (Action.STOP, N, OS, "opted_out"),
    (Action.STOP, P, OS, "opted_out"),
    (Action.STOP, I, OS, "opted_out"),
    (Action.STOP, S, OS, "opted_out"),
    (Action.STOP, OS, OS, "unchanged"),
    (Action.STOP, OC, OS, "opted_out"),
    # START or the keyword from the handset: the only way, with YES, out of an opt-out.
    (Action.START, N, I, "opted_in"),
    (Action.START, P, I, "opted_in"),
    (Action.START, I, I, "unchanged"),
    (Action.START, S, I, "reactivated"),
    (Action.START, OS, I, "opted_in"),
    (Action.START, OC, I, "opted_in"),
    # A double opt-in request.
    (Action.REQUEST, N, P, "pending"),
    (Action.REQUEST, P, P, "unchanged"),
    (Action.REQUEST, I, I, "refused:already_opted_in"),
    (Action.REQUEST, S, S, "unchanged"),
    (Action.REQUEST, OS, OS, "unchanged"),
    (Action.REQUEST, OC, OC, "unchanged"),
    # YES to a request.
    (Action.CONFIRM, N, N, "refused:no_request"),
    (Action.CONFIRM, P, I, "opted_in"),
    (Action.CONFIRM, I, I, "unchanged"),
    (Action.CONFIRM, S, I, "reactivated"),
    (Action.CONFIRM, OS, I, "opted_in"),
    (Action.CONFIRM, OC, I, "opted_in"),
    # A request not answered in 7 days.
    (Action.EXPIRE, N, N, "unchanged"),
    (Action.EXPIRE, P, N, "expired"),
    (Action.EXPIRE, I, I, "unchanged"),
    (Action.EXPIRE, S, S, "unchanged"),
    (Action.EXPIRE, OS, OS, "unchanged"),
    (Action.EXPIRE, OC, OC, "unchanged"),
]

# A source allowed for each action, for driving the service.
SOURCE_FOR = {
    Action.OPT_IN: "manager",
    Action.REACTIVATE: "api",
    Action.SUSPEND: "import",
    Action.OPT_OUT: "manager",
    Action.STOP: "keyword",
    Action.START: "keyword",
    Action.REQUEST: "widget",
    Action.CONFIRM: "double_opt_in",
    Action.EXPIRE: "expiry",
}
