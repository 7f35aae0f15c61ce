"""What an inbound text means, by the rules of SPEC §5.

The rule, in order (the first that matches wins):
1. Matching ignores case, punctuation and surrounding space: the text is cut into words of letters
   and digits (`Stop.`, ` STOP `, `stop!` are all the word `stop`).
2. **Opt-out** when the first word is an opt-out word (`stop please`, `STOPALL`), when the first two
   words are `opt out`, or when a short text (at most four words) contains one anywhere
   (`please stop`, `pls stop texting me`). A text to a number that said STOP costs a fine, so a
   short text that asks to stop is honoured even if the word is not first; a longer text that only
   mentions one of the words later (`the power did not stop flickering all night`) is forwarded.
3. **Opt-in** when START, UNSTOP or one of the account's opt-in keywords is one of the first two words.
4. **YES** (the first word) confirms a pending double opt-in request; with no open request it is
   an ordinary message.
5. **HELP** or **INFO** as the first word answers with the help text and changes nothing.
6. Anything else is forwarded to the account's webhook.
"""

import re
from enum import StrEnum

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
CONFIRM_WORDS = frozenset({"yes"})
SHORT_TEXT_WORDS = 4

_WORD = re.compile(r"[^\W_]+")


class Meaning(StrEnum):
    STOP = "stop"
    START = "start"
    CONFIRM = "confirm"
    HELP = "help"
    OTHER = "other"


def words(text: str) -> list[str]:
    return _WORD.findall((text or "").casefold())


def keyword_clean(value: str) -> str:
    """An account's opt-in keyword as it is matched: one word, letters and digits, lower case."""
    found = words(value)
    return found[0] if len(found) == 1 else ""


def meaning_of(text: str, opt_in_keywords=()) -> Meaning:
    found = words(text)
    if not found:
        return Meaning.OTHER
    first_two = found[:2]
    if found[0] in OPT_OUT_WORDS or first_two == ["opt", "out"]:
        return Meaning.STOP
    if len(found) <= SHORT_TEXT_WORDS and (
        OPT_OUT_WORDS.intersection(found)
        or any(a == "opt" and b == "out" for a, b in zip(found, found[1:], strict=False))
    ):
        return Meaning.STOP
    opt_in = OPT_IN_WORDS | {keyword_clean(k) for k in opt_in_keywords if keyword_clean(k)}
    if opt_in.intersection(first_two):
        return Meaning.START
    if found[0] in CONFIRM_WORDS:
        return Meaning.CONFIRM
    if found[0] in HELP_WORDS:
        return Meaning.HELP
    return Meaning.OTHER
