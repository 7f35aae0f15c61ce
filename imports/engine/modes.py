"""The processing modes of SPEC §4.2 as data: what each does to the numbers in the file, to their tags, and
to the opted-in numbers missing from it.

The status changes themselves come from `subscribers.transitions`, the table the status service uses, so an
import can never do what a single-number change may not.
"""

from dataclasses import dataclass

from imports.models import Action as FileAction
from imports.models import Mode
from subscribers.transitions import Action


class Tags:
    NONE = "none"  # the file's tags are ignored
    ADD = "add"  # file tags added, none removed
    EXACT = "exact"  # set to exactly the file's tags
    REMOVE = "remove"  # the file's tags are removed


@dataclass(frozen=True)
class Rules:
    in_file: Action | None  # the status action applied to each number in the file; None: tags only
    tags: str
    missing: Action | None = None  # applied to opted-in numbers missing from the file

    @property
    def guarded(self) -> bool:
        """Whether the guard of SPEC §4.3 watches this run: one that stops numbers because the file left them out
        (soft and hard modes), or a `suspend` list. Numbers a file names to opt out are revocations, which the
        law says must be honoured: an `opt_out` file is applied at once, never held (undo is there for a
        mistaken file)."""
        return self.missing is not None or self.in_file == Action.SUSPEND


_STANDARD = {
    FileAction.OPT_IN: Rules(Action.OPT_IN, Tags.ADD),
    FileAction.OPT_OUT: Rules(Action.OPT_OUT, Tags.NONE),
    FileAction.SUSPEND: Rules(Action.SUSPEND, Tags.NONE),
    FileAction.REACTIVATE: Rules(Action.REACTIVATE, Tags.NONE),
    FileAction.ADD_TAGS: Rules(None, Tags.ADD),
    FileAction.REMOVE_TAGS: Rules(None, Tags.REMOVE),
}

_APPEND = {
    Mode.APPEND: Rules(Action.OPT_IN, Tags.ADD),
    Mode.APPEND_TAGS: Rules(Action.OPT_IN, Tags.EXACT),
    Mode.APPEND_SOFT: Rules(Action.OPT_IN, Tags.ADD, missing=Action.SUSPEND),
    Mode.APPEND_SOFT_TAGS: Rules(Action.OPT_IN, Tags.EXACT, missing=Action.SUSPEND),
    Mode.APPEND_HARD: Rules(Action.OPT_IN, Tags.EXACT, missing=Action.OPT_OUT),
}


def rules_for(mode: str, action: str = FileAction.OPT_IN) -> Rules:
    if mode == Mode.STANDARD:
        return _STANDARD[FileAction(action)]
    return _APPEND[Mode(mode)]
