"""What an inbound text means: one rule that reads the language tables of messaging.phrases.

The rule, in order (the first that matches wins); README "Inbound texts" shows it as a table:
1. Matching ignores case, accents, apostrophes, punctuation and surrounding space: the text is cut
   into words of letters and digits (`Arrêt!`, ` ARRET `, `arret.` are all the word `arret`;
   `don't` is `dont`).
2. **Opt-out** when the first word is a stop word of any language (`stop please`, `ALTO`, `Arrêt`),
   or a stop phrase appears anywhere (`please remove me`, `no más`, `me désabonner`), or a short text
   (at most SHORT_TEXT_WORDS words) holds a stop word and is not a question (`pls stop texting`).
3. **Inbox** (a person decides) when a stop word appears in a longer text or a question that is also
   about our texts or the sender's number (`how do I cancel these texts?`): it may be a revocation in
   the owner's own words, and the law gives 10 business days to honour it.
4. A stop word in any other text is only mentioned (`when will the outage end?`, `the power did not
   stop flickering all night long`): not a revocation, read on.
5. **Opt-in** when a start word (START, UNSTOP, INICIO, DÉBUT…) or one of the account's opt-in
   keywords is one of the first two words.
6. **YES** (YES, SÍ, OUI as the first word) confirms a pending double opt-in request; with no open
   request it is an ordinary message.
7. **HELP** (HELP, INFO, AYUDA, AIDE as the first word) answers with the help text, changes nothing.
8. Anything else is forwarded to the account's webhook.

The word that decided also tells the language it belongs to (ALTO → es); a word that several tables
share (`fin`, `stop`, `info`) tells none.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from messaging.phrases import SHORT_TEXT_WORDS, TABLES

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’`´]")


class Meaning(StrEnum):
    STOP = "stop"
    START = "start"
    CONFIRM = "confirm"
    HELP = "help"
    UNCLEAR = "unclear"
    OTHER = "other"


@dataclass(frozen=True)
class Reading:
    meaning: Meaning
    language: str = ""  # the language of the word or phrase that decided; "" when it tells none
    matched: str = ""  # that word or phrase, normalised


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    text = _APOSTROPHES.sub("", _strip_accents((text or "").casefold()))
    return _WORD.findall(text)


def keyword_clean(value: str) -> str:
    """An account's opt-in keyword as it is matched: one word, letters and digits, lower case, no accents."""
    found = words(value)
    return found[0] if len(found) == 1 else ""


def _index(attribute: str) -> dict[str, frozenset[str]]:
    """word → the languages whose table lists it under `attribute`."""
    found: dict[str, set[str]] = {}
    for code, table in TABLES.items():
        for word in getattr(table, attribute):
            found.setdefault(keyword_clean(word) or word, set()).add(code)
    return {word: frozenset(codes) for word, codes in found.items()}


def _phrase_index() -> list[tuple[tuple[str, ...], frozenset[str]]]:
    found: dict[tuple[str, ...], set[str]] = {}
    for code, table in TABLES.items():
        for phrase in table.stop_phrases:
            found.setdefault(tuple(words(phrase)), set()).add(code)
    # Longest first, so the phrase reported is the most telling one.
    return sorted(((p, frozenset(c)) for p, c in found.items()), key=lambda item: -len(item[0]))


STOP_WORDS = _index("stop_words")
START_WORDS = _index("start_words")
_HELP_INDEX = _index("help_words")
CONFIRM_WORDS = _index("confirm_words")
QUESTION_WORDS = _index("question_words")
ABOUT_US_WORDS = _index("about_us_words")
STOP_PHRASES = _phrase_index()


def _one(codes: frozenset[str]) -> str:
    return next(iter(codes)) if len(codes) == 1 else ""


def _phrase_in(found: list[str]) -> tuple[tuple[str, ...], frozenset[str]] | None:
    for phrase, codes in STOP_PHRASES:
        n = len(phrase)
        if any(tuple(found[i : i + n]) == phrase for i in range(len(found) - n + 1)):
            return phrase, codes
    return None


def read(text: str, opt_in_keywords=()) -> Reading:
    found = words(text)
    if not found:
        return Reading(Meaning.OTHER)
    first = found[0]
    if first in STOP_WORDS:
        return Reading(Meaning.STOP, _one(STOP_WORDS[first]), first)
    phrase = _phrase_in(found)
    if phrase is not None:
        return Reading(Meaning.STOP, _one(phrase[1]), " ".join(phrase[0]))
    stop_word = next((word for word in found if word in STOP_WORDS), None)
    if stop_word is not None:
        question = "?" in (text or "") or first in QUESTION_WORDS
        if len(found) <= SHORT_TEXT_WORDS and not question:
            return Reading(Meaning.STOP, _one(STOP_WORDS[stop_word]), stop_word)
        if any(word in ABOUT_US_WORDS for word in found):
            return Reading(Meaning.UNCLEAR, _one(STOP_WORDS[stop_word]), stop_word)
    first_two = found[:2]
    for word in first_two:
        if word in START_WORDS:
            return Reading(Meaning.START, _one(START_WORDS[word]), word)
    own = {keyword_clean(k) for k in opt_in_keywords} - {""}
    for word in first_two:
        if word in own:
            return Reading(Meaning.START, "", word)
    if first in CONFIRM_WORDS:
        return Reading(Meaning.CONFIRM, _one(CONFIRM_WORDS[first]), first)
    if first in _HELP_INDEX:
        return Reading(Meaning.HELP, _one(_HELP_INDEX[first]), first)
    return Reading(Meaning.OTHER)


def meaning_of(text: str, opt_in_keywords=()) -> Meaning:
    return read(text, opt_in_keywords).meaning


# The carrier keywords a US campaign registration lists (registration.selectors): the English table's words.
OPT_OUT_WORDS = TABLES["en"].stop_words
OPT_IN_WORDS = TABLES["en"].start_words
HELP_WORDS = TABLES["en"].help_words
