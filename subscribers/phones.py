"""Phone number normalisation for the SMS opt-in lists.

Only US and Canadian numbers (+1, NANP) are kept, stored as E.164
(``+12025550173``).  Every rejected value gets exactly one reason from
``REASONS``.

Two paths produce the same answers:

* ``_normalise_slow`` is the reference: ``phonenumbers.parse`` +
  ``is_valid_number`` + ``number_type``.  It is correct for every input but
  runs at a few tens of thousands of numbers per second, far too slow for a
  1,000,000-row import.
* The fast path (used by ``normalise_many`` whenever the text is only digits,
  spaces and ``()-.+``) reduces the text to a 10-digit national number and
  decides validity, region and line type from phonenumbers' own NANP metadata
  regexes, compiled once.  That decision is cached per 6-digit NPA-NXX prefix.
  The cache is exact because ``_uncacheable_prefixes`` works out, from the
  regexes themselves, the few prefixes where some pattern looks past the sixth
  digit (Barbados 246-521, Jamaica 876-606, ... at the time of writing); those
  are never cached.  If a future metadata release uses a regex construct the
  proof cannot model, the cache is switched off and the regexes run for every
  number: slower, still correct.

The fast path also decides the common extension forms ("x12", "ext. 4",
"extension 55").  Anything else falls back to the slow path, so the fast path
never has to be clever about odd input.  Property tests check both paths give
identical results.

Which valid numbers are textable is a pluggable check: its interface and the
setting that names it are ``subscribers.linetypes``.  The default checker is
here because its verdict is this module's own prefix decision.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import cast

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from subscribers.linetypes import LineTypeChecker, get_line_type_checker, textable_once

REASONS = ("blank", "invalid", "not_us_ca", "not_mobile")

# PR, GU, VI, AS and MP share +1 but phonenumbers gives them their own region
# codes; the product only serves the US and Canada, so they are "not_us_ca".
ALLOWED_REGIONS = frozenset({"US", "CA"})

# US/CA numbers are almost all FIXED_LINE_OR_MOBILE: the metadata cannot tell
# a landline from a mobile, so both kinds are let through and a carrier lookup
# (a custom checker) is the only way to be stricter.
TEXTABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@dataclass(frozen=True, slots=True)
class Normalised:
    """Outcome for one cell: exactly one of ``e164`` and ``reason`` is set."""

    e164: str | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


# Rejections carry no per-value data, so one shared instance each saves an
# allocation per rejected row in a million-row import.
_BLANK = Normalised(None, "blank")
_INVALID = Normalised(None, "invalid")
_NOT_US_CA = Normalised(None, "not_us_ca")
_NOT_MOBILE = Normalised(None, "not_mobile")


# --------------------------------------------------------------------------
# The default line-type checker (the interface is subscribers.linetypes)
# --------------------------------------------------------------------------


class PhonenumbersLineTypeChecker:
    """Default checker: phonenumbers' offline metadata, no network.

    Textable: MOBILE and FIXED_LINE_OR_MOBILE.  Refused: toll-free, premium
    rate, shared cost, personal (500...), pager, voicemail, UAN, VoIP,
    fixed-line-only and unknown.
    """

    def textable(self, e164s: list[str]) -> dict[str, bool]:
        result: dict[str, bool] = {}
        for e164 in e164s:
            if len(e164) == 12 and e164.startswith("+1") and e164[2:].isascii() and e164[2:].isdigit():
                # Same cached prefix decision the fast parse path just used,
                # so this costs a lookup per number, not a regex run.
                result[e164] = _nanp_decision(e164[2:]) == _OK_TEXTABLE
            else:
                result[e164] = _textable_by_parse(e164)
        return result


def _textable_by_parse(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in TEXTABLE_TYPES


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def normalise(value: object) -> Normalised:
    """Normalise one cell (str, int, float, Decimal or None); the same rules
    and checker as the bulk path."""
    return normalise_many((value,))[0]


def normalise_many(values: Iterable[object]) -> list[Normalised]:
    """Normalise many cells; the bulk path used by the import engine.

    Each value is parsed (fast path, slow fallback); the configured line-type
    checker is then called once with the distinct candidate numbers.  With
    the default checker its verdict is the prefix decision the fast path
    already made, so most rows are finished in this one loop.
    """
    checker = get_line_type_checker()
    by_metadata = type(checker) is PhonenumbersLineTypeChecker
    decisions = _DECISIONS
    staged: list[Normalised | str] = []  # final result, or an E.164 awaiting the line-type check
    append = staged.append
    pending = False
    for value in values:
        # Text cells dominate CSV imports: keep their path free of the
        # isinstance chain in _cell_text (same rules, inlined).
        if type(value) is str:
            cell: str | Normalised = value.strip()
            if not cell:
                cell = _BLANK
            elif "." in cell or "e" in cell or "E" in cell:
                cell = _clean_spreadsheet_text(cell)
        else:
            cell = _cell_text(value)
        if isinstance(cell, Normalised):
            append(cell)
            continue
        national = _fast_national(cell)
        if national is None:  # extensions, letters, foreign numbers, junk...
            parsed = _parse_fast(cell)
            if parsed is None:
                parsed = _parse_slow(cell)
            pending = pending or isinstance(parsed, str)
            append(parsed)
            continue
        # _nanp_decision, inlined for the cache hit.
        code = decisions[int(national[:6])] or _nanp_decision(national)
        if code == _CODE_INVALID:
            append(_INVALID)
        elif code == _CODE_NOT_US_CA:
            append(_NOT_US_CA)
        elif not by_metadata:
            append("+1" + national)
            pending = True
        elif code == _OK_TEXTABLE:
            append(_accepted("+1" + national))
        else:
            append(_NOT_MOBILE)

    if not pending:
        return cast(list[Normalised], staged)
    if by_metadata:
        return _finish_with_metadata(staged)
    return _finish_with_checker(staged, checker)


def _finish_with_checker(staged: list[Normalised | str], checker: LineTypeChecker) -> list[Normalised]:
    candidates = [item for item in staged if isinstance(item, str)]
    if not candidates:
        return cast(list[Normalised], staged)
    verdict = textable_once(checker, candidates)
    out: list[Normalised] = []
    for item in staged:
        if not isinstance(item, str):
            out.append(item)
        else:
            out.append(_accepted(item) if verdict.get(item, False) else _NOT_MOBILE)
    return out


def _finish_with_metadata(staged: list[Normalised | str]) -> list[Normalised]:
    """What ``PhonenumbersLineTypeChecker.textable`` would answer, read
    straight from the prefix decisions the parse just cached.

    Building and probing the verdict dict cost more than the parse itself
    (~2 us a row); this is the same ``_nanp_decision`` lookup without it.
    Every candidate is "+1" + 10 digits: both parse paths only hand on
    US/CA numbers.
    """
    decisions = _DECISIONS
    out: list[Normalised] = []
    for item in staged:
        if not isinstance(item, str):
            out.append(item)
            continue
        code = decisions[int(item[2:8])]
        if code == _CODE_UNKNOWN:  # an uncacheable prefix, or first seen by the slow path
            code = _nanp_decision(item[2:])
        out.append(_accepted(item) if code == _OK_TEXTABLE else _NOT_MOBILE)
    return out


# The dataclass's frozen __init__ goes through object.__setattr__ twice
# (~1 us); writing the slots directly halves that, which is ~10% of a row.
_new_object = object.__new__
_set_e164 = Normalised.e164.__set__  # type: ignore[attr-defined]
_set_reason = Normalised.reason.__set__  # type: ignore[attr-defined]


def _accepted(e164: str) -> Normalised:
    result = _new_object(Normalised)
    _set_e164(result, e164)
    _set_reason(result, None)
    return result


def format_national(e164: str) -> str:
    """``"+12025550173"`` -> ``"(202) 555-0173"``, for display.

    Never raises: a template showing a legacy or foreign value should render
    it as best it can rather than crash.
    """
    if len(e164) == 12 and e164.startswith("+1") and e164[2:].isascii() and e164[2:].isdigit():
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def digits_only(text: str) -> str:
    """Keep only the digits, for search: ``"(202) 555"`` -> ``"202555"``.

    Non-ASCII decimal digits (full-width, Arabic-Indic) become ASCII so a
    search typed on any keyboard matches the stored E.164.
    """
    return "".join(ch if "0" <= ch <= "9" else str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


# --------------------------------------------------------------------------
# Cell -> text (shared by both paths, so they can only differ in parsing)
# --------------------------------------------------------------------------

# "5.552E+09": Excel's display of a long number.  The mantissa may have been
# rounded, so the real digits are gone; refuse rather than guess.
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+", re.ASCII)
# "2025550173.0": a numeric cell exported as text.
_INTEGRAL_DECIMAL = re.compile(r"(\d+)\.0+", re.ASCII)


def _clean_spreadsheet_text(text: str) -> str | Normalised:
    if _SCIENTIFIC.fullmatch(text):
        return _INVALID
    match = _INTEGRAL_DECIMAL.fullmatch(text)
    return match[1] if match else text


def _cell_text(value: object) -> str | Normalised:
    """Turn a spreadsheet cell into stripped text, or an early rejection."""
    if value is None:
        return _BLANK
    if isinstance(value, bool):  # an int subclass, but never a phone number
        return _INVALID
    if isinstance(value, int):
        return str(value) if value > 0 else _INVALID
    if isinstance(value, (float, Decimal)):
        # 2025550173.0 is exact (floats hold integers up to 2**53 exactly);
        # a fractional or non-finite value cannot be a phone number.
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite or value <= 0 or value != int(value):
            return _INVALID
        return str(int(value))
    text = (value if isinstance(value, str) else str(value)).strip()
    if not text:
        return _BLANK
    return _clean_spreadsheet_text(text)


# --------------------------------------------------------------------------
# Slow path: the reference
# --------------------------------------------------------------------------


def _parse_slow_number(text: str) -> phonenumbers.PhoneNumber | Normalised:
    """Full phonenumbers parse: a valid US/CA number without extension, or a
    rejection."""
    try:
        number = phonenumbers.parse(text, "US")
    except NumberParseException:
        return _INVALID
    # is_valid_number(n) is exactly is_valid_number_for_region(n,
    # region_code_for_number(n)); spelled out so the (costly, for +1)
    # region lookup runs once.
    region = phonenumbers.region_code_for_number(number)
    if not phonenumbers.is_valid_number_for_region(number, region):
        return _INVALID
    if region not in ALLOWED_REGIONS:
        return _NOT_US_CA
    if number.extension:
        # A texting platform cannot dial an extension.
        return _NOT_MOBILE
    return number


@lru_cache(maxsize=4096)  # spreadsheets repeat their junk: "N/A", "none", "see notes"...
def _parse_slow(text: str) -> str | Normalised:
    """Fallback for the bulk path: an E.164 candidate for the line-type
    check, or a rejection (results are immutable, so caching is safe)."""
    number = _parse_slow_number(text)
    if isinstance(number, Normalised):
        return number
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _normalise_slow(value: object) -> Normalised:
    """Reference implementation: phonenumbers end to end, default line-type
    rule.  Kept for the equivalence tests and the benchmark."""
    cell = _cell_text(value)
    if isinstance(cell, Normalised):
        return cell
    number = _parse_slow_number(cell)
    if isinstance(number, Normalised):
        return number
    if phonenumbers.number_type(number) in TEXTABLE_TYPES:
        return Normalised(phonenumbers.format_number(number, PhoneNumberFormat.E164), None)
    return _NOT_MOBILE


# --------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------

# phonenumbers refuses longer input outright; fall back so it can say so.
_MAX_INPUT_LENGTH = 250


def _fast_national(text: str) -> str | None:
    """The 10-digit national number of a simple shape, or ``None``.

    Accepts only digits plus `` ()-.`` and a single leading ``+``: for those,
    phonenumbers itself just drops the punctuation, so the digits alone decide
    the result.  10 digits, or 11 starting with 1 (the national prefix or the
    +1 country code), give the national number.
    """
    if len(text) > _MAX_INPUT_LENGTH:
        return None
    # Chained str.replace is ~5x faster than str.translate or re.sub here.
    digits = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").replace(".", "")
    plus = digits.startswith("+")
    if plus:
        digits = digits[1:]
    # isascii: str.isdigit also accepts superscripts and other scripts' digits.
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) == 11 and digits[0] == "1":
        return digits[1:]
    if len(digits) == 10 and not plus:  # "+2025550173" means country code 20
        return digits
    return None


def _parse_fast(text: str) -> str | Normalised | None:
    """Decide ``text`` without phonenumbers.parse: an E.164 candidate for the
    line-type check, a rejection, or ``None`` to fall back to the slow path."""
    national = _fast_national(text)
    if national is None:
        return _parse_fast_extension(text) if "x" in text or "X" in text else None
    code = _nanp_decision(national)
    if code == _CODE_INVALID:
        return _INVALID
    if code == _CODE_NOT_US_CA:
        return _NOT_US_CA
    return "+1" + national


# "202-555-0173 x12", "... ext. 4", "... extension 55": a narrow subset of
# what phonenumbers' extension pattern accepts (it also knows "#", ";ext=",
# ",,", other languages and longer extensions; those fall back).  For these,
# phonenumbers parses the part before the label exactly as if it stood alone.
_FAST_EXTENSION = re.compile(
    r"(?P<main>[0-9 ()+.\-]*[0-9)]) *(?:x|ext\.?|extension) *[0-9]{1,6}", re.ASCII | re.IGNORECASE
)


def _parse_fast_extension(text: str) -> Normalised | None:
    match = _FAST_EXTENSION.fullmatch(text)
    if match is None:
        return None
    main = _parse_fast(match["main"])
    if main is None or isinstance(main, Normalised):
        return main  # invalid / not_us_ca outrank the extension, as on the slow path
    return _NOT_MOBILE


# Decision codes, stored one byte per NPA-NXX prefix.
_CODE_UNKNOWN = 0
_CODE_INVALID = 1
_CODE_NOT_US_CA = 2
_OK_TEXTABLE = 3
_OK_NOT_TEXTABLE = 4

# 1 MB, fixed: one byte for each of the 10**6 possible 6-digit prefixes.
_DECISIONS = bytearray(10**6)


def _nanp_decision(national: str) -> int:
    """Decision code for a 10-digit NANP national number."""
    key = int(national[:6])
    code = _DECISIONS[key]
    if code == _CODE_UNKNOWN:
        code = _classify(national)
        uncacheable = _tables().uncacheable
        if uncacheable is not None and key not in uncacheable:
            _DECISIONS[key] = code
    return code


@dataclass(frozen=True, slots=True)
class _RegionRules:
    """One NANP region's metadata, compiled for 10-digit national numbers."""

    region: str
    leading_digits: re.Pattern[str] | None
    general: re.Pattern[str] | None
    # (type, pattern) in the order phonenumbers' _number_type_helper tests them.
    special: tuple[tuple[int, re.Pattern[str]], ...]
    fixed_line: re.Pattern[str] | None
    mobile: re.Pattern[str] | None
    same_mobile_and_fixed_line_pattern: bool


@dataclass(frozen=True, slots=True)
class _Tables:
    regions: tuple[_RegionRules, ...]
    # Prefixes whose decision may depend on the last 4 digits; None = the
    # proof failed, cache nothing.
    uncacheable: frozenset[int] | None


_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def _desc_pattern(desc: object) -> re.Pattern[str] | None:
    """Compile a PhoneNumberDesc for 10-digit input, mirroring
    phonenumbers' _is_number_matching_desc: a desc that cannot match length
    10 (or has no pattern) never matches."""
    if desc is None:
        return None
    pattern = getattr(desc, "national_number_pattern", None)
    lengths = getattr(desc, "possible_length", ())
    if not pattern or (lengths and 10 not in lengths):
        return None
    return re.compile(pattern)


@cache
def _tables() -> _Tables:
    regions = []
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        special = tuple(
            (kind, pattern)
            for attr, kind in _SPECIAL_TYPES
            if (pattern := _desc_pattern(getattr(metadata, attr))) is not None
        )
        regions.append(
            _RegionRules(
                region=region,
                leading_digits=None if metadata.leading_digits is None else re.compile(metadata.leading_digits),
                general=_desc_pattern(metadata.general_desc),
                special=special,
                fixed_line=_desc_pattern(metadata.fixed_line),
                mobile=_desc_pattern(metadata.mobile),
                same_mobile_and_fixed_line_pattern=bool(metadata.same_mobile_and_fixed_line_pattern),
            )
        )
    rules = tuple(regions)
    return _Tables(regions=rules, uncacheable=_uncacheable_prefixes(rules))


def _number_type(national: str, rules: _RegionRules) -> int:
    """phonenumbers' _number_type_helper, on precompiled patterns."""
    if rules.general is None or not rules.general.fullmatch(national):
        return PhoneNumberType.UNKNOWN
    for kind, pattern in rules.special:
        if pattern.fullmatch(national):
            return kind
    if rules.fixed_line is not None and rules.fixed_line.fullmatch(national):
        if rules.same_mobile_and_fixed_line_pattern or (rules.mobile is not None and rules.mobile.fullmatch(national)):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not rules.same_mobile_and_fixed_line_pattern and rules.mobile is not None and rules.mobile.fullmatch(national):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _region_and_type(national: str) -> tuple[str | None, int]:
    """phonenumbers' region_code_for_number + number_type for +1 numbers.

    The first region whose leading digits match wins outright (even if the
    number is then invalid there); regions without leading digits win when
    the number has a known type in them.
    """
    for rules in _tables().regions:
        if rules.leading_digits is not None:
            if rules.leading_digits.match(national):
                return rules.region, _number_type(national, rules)
        else:
            kind = _number_type(national, rules)
            if kind != PhoneNumberType.UNKNOWN:
                return rules.region, kind
    return None, PhoneNumberType.UNKNOWN


def _classify(national: str) -> int:
    region, kind = _region_and_type(national)
    if kind == PhoneNumberType.UNKNOWN:
        return _CODE_INVALID
    if region not in ALLOWED_REGIONS:
        return _CODE_NOT_US_CA
    return _OK_TEXTABLE if kind in TEXTABLE_TYPES else _OK_NOT_TEXTABLE


# --------------------------------------------------------------------------
# Which 6-digit prefixes decide everything
# --------------------------------------------------------------------------
# Each metadata regex is turned into an automaton over the digits 0-9.  A
# prefix is "decided" for a pattern when, after reading it, the automaton
# accepts either all 10**4 endings or none; fullmatch on any 10-digit number
# with that prefix then gives the same answer.  A prefix decided for every
# pattern has one region, validity and type, so its decision can be cached.
# Leading-digit patterns are prefix matches: it is enough that they can never
# consume more than 6 characters.

_DIGITS = frozenset("0123456789")


class _Unsupported(Exception):
    """A regex construct the checker does not model: assume the worst."""


class _Nfa:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[frozenset[str], int]]] = []

    def new_state(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def add_sequence(self, items: Iterable[tuple[object, object]], start: int) -> int:
        state = start
        for op, arg in items:
            state = self.add_item(op, arg, state)
        return state

    def add_item(self, op: object, arg: object, start: int) -> int:
        from re import _constants as c  # private, hence guarded by _Unsupported/except

        if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
            end = self.new_state()
            self.edges[start].append((_char_set(op, arg), end))
            return end
        if op is c.SUBPATTERN:
            _group, add_flags, del_flags, sub = arg  # type: ignore[misc]
            if add_flags or del_flags:
                raise _Unsupported(op)
            return self.add_sequence(sub, start)
        if op is c.BRANCH:
            end = self.new_state()
            for alternative in arg[1]:  # type: ignore[index]
                entry = self.new_state()
                self.eps[start].append(entry)
                self.eps[self.add_sequence(alternative, entry)].append(end)
            return end
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):  # laziness does not change fullmatch
            low, high, sub = arg  # type: ignore[misc]
            state = start
            for _ in range(low):
                state = self.add_sequence(sub, state)
            if high is c.MAXREPEAT:
                loop = self.new_state()
                self.eps[state].append(loop)
                self.eps[self.add_sequence(sub, loop)].append(loop)
                return loop
            for _ in range(high - low):
                end = self.new_state()
                self.eps[state].append(end)
                self.eps[self.add_sequence(sub, state)].append(end)
                state = end
            return state
        raise _Unsupported(op)


def _char_set(op: object, arg: object) -> frozenset[str]:
    from re import _constants as c

    if op is c.LITERAL:
        return _DIGITS & {chr(arg)}  # type: ignore[arg-type]
    if op is c.NOT_LITERAL:
        return _DIGITS - {chr(arg)}  # type: ignore[arg-type]
    if op is c.ANY:
        return _DIGITS
    chars: set[str] = set()
    negate = False
    for item_op, item_arg in arg:  # type: ignore[attr-defined]
        if item_op is c.NEGATE:
            negate = True
        elif item_op is c.LITERAL:
            chars.add(chr(item_arg))
        elif item_op is c.RANGE:
            chars.update(chr(code) for code in range(item_arg[0], item_arg[1] + 1))
        elif item_op is c.CATEGORY and item_arg in (c.CATEGORY_DIGIT, c.CATEGORY_UNI_DIGIT):
            chars.update(_DIGITS)
        else:
            raise _Unsupported(item_op)
    return frozenset(_DIGITS - chars if negate else _DIGITS & chars)


def _compile_nfa(pattern: str) -> tuple[_Nfa, int, int]:
    from re import _parser  # private module: failures surface as ImportError/_Unsupported

    nfa = _Nfa()
    start = nfa.new_state()
    accept = nfa.add_sequence(_parser.parse(pattern).data, start)
    return nfa, start, accept


@cache  # the toll-free, premium and personal patterns are shared by all 25 regions
def _undecided_prefixes(pattern: str, length: int = 10, prefix: int = 6) -> frozenset[str]:
    """The ``prefix``-digit prefixes p for which ``fullmatch(pattern, p + s)``
    over ``len(s) == length - prefix`` is true for some endings s and false
    for others, i.e. where the cache must not be trusted."""
    nfa, start, accept = _compile_nfa(pattern)

    def closure(states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(seen)
        while todo:
            for nxt in nfa.eps[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    @cache
    def step(states: frozenset[int], digit: str) -> frozenset[int]:
        return closure(target for s in states for chars, target in nfa.edges[s] if digit in chars)

    @cache
    def decided(states: frozenset[int], remaining: int) -> bool:
        """Every ending of this length is accepted, or none is."""
        every, none = _accepts(states, remaining)
        return every or none

    @cache
    def _accepts(states: frozenset[int], remaining: int) -> tuple[bool, bool]:
        if remaining == 0:
            return accept in states, accept not in states
        if not states:
            return False, True
        every, none = True, True
        for digit in "0123456789":
            sub_every, sub_none = _accepts(step(states, digit), remaining - 1)
            every &= sub_every
            none &= sub_none
        return every, none

    undecided: set[str] = set()

    def walk(states: frozenset[int], seen: str) -> None:
        # Prune whole subtrees that are already decided: the walk only goes
        # deep where a pattern really looks at more digits.
        if decided(states, length - len(seen)):
            return
        if len(seen) == prefix:
            undecided.add(seen)
            return
        for digit in "0123456789":
            walk(step(states, digit), seen + digit)

    walk(closure([start]), "")
    return frozenset(undecided)


def _uncacheable_prefixes(regions: tuple[_RegionRules, ...]) -> frozenset[int] | None:
    """Prefixes whose decision may depend on the last 4 digits, or ``None``
    when the metadata uses something the proof cannot model (then nothing is
    cached)."""
    try:
        from re import _parser

        undecided: set[str] = set()
        for rules in regions:
            if rules.leading_digits is not None:
                # A prefix match that never reads past 6 characters is decided
                # by the prefix; _compile_nfa rejects lookarounds and the like.
                _compile_nfa(rules.leading_digits.pattern)
                if _parser.parse(rules.leading_digits.pattern).getwidth()[1] > 6:
                    return None
            patterns = [rules.general, rules.fixed_line, rules.mobile, *(p for _, p in rules.special)]
            for pattern in patterns:
                if pattern is not None:
                    undecided |= _undecided_prefixes(pattern.pattern)
    except (_Unsupported, ImportError, AttributeError, TypeError, ValueError):
        return None
    return frozenset(int(p) for p in undecided)


# --------------------------------------------------------------------------
# Benchmark: python -m subscribers.phones [count]
# --------------------------------------------------------------------------


def _messy_sample(count: int, seed: int = 20240601, spread: bool = False) -> list[object]:
    """Realistic import cells: mostly a utility's own area codes in assorted
    shapes, plus blanks, spreadsheet numbers, foreign, toll-free and junk.
    ``spread=True`` draws area codes from the whole NANP instead (worst case
    for the prefix cache)."""
    import random

    rng = random.Random(seed)
    local = ["202", "301", "410", "571", "703", "240", "443", "613", "416", "647", "905", "205", "256"]
    shapes = [
        "({a}) {b}-{c}",
        "{a}.{b}.{c}",
        "{a}-{b}-{c}",
        "{a}{b}{c}",
        "1{a}{b}{c}",
        "1-{a}-{b}-{c}",
        "+1 {a} {b} {c}",
        "  {a}-{b}-{c} ",
    ]
    cells: list[object] = []
    for _ in range(count):
        area = str(rng.randint(200, 999)) if spread else rng.choice(local)
        b, c = f"{rng.randint(200, 999)}", f"{rng.randint(0, 9999):04d}"
        roll = rng.random()
        if roll < 0.86:  # the bulk: the utility's own numbers, in whatever shape
            cells.append(rng.choice(shapes).format(a=area, b=b, c=c))
        elif roll < 0.90:  # xlsx numeric cells, or numbers exported as "….0" text
            cells.append(rng.choice([int(area + b + c), float(area + b + c), f"{area}{b}{c}.0"]))
        elif roll < 0.93:
            cells.append(rng.choice(["", "  ", None]))
        elif roll < 0.94:
            cells.append(rng.choice(["n/a", "unknown", "5.552E+09", "see notes", "202-555"]))
        elif roll < 0.96:  # toll-free, premium, personal (500)
            cells.append(rng.choice(["800", "888", "900", "500"]) + f"-{b}-{c}")
        elif roll < 0.97:  # the rest of the NANP: Jamaica, Puerto Rico, Bahamas
            cells.append(rng.choice(["876", "787", "242"]) + f"-{b}-{c}")
        elif roll < 0.98:
            ending = f"{rng.randint(0, 9999):04d}"
            cells.append(rng.choice([f"+44 20 7946 {ending}", f"+33 1 23 45 {ending}", f"+52 55 1234 {ending}"]))
        else:
            cells.append(f"{area}-{b}-{c} " + rng.choice(["x", "ext. ", "ext "]) + str(rng.randint(1, 999)))
    return cells


def _benchmark(count: int) -> None:  # pragma: no cover - manual tool
    import gc
    import time

    def rate(run: Callable[[list[object]], list[Normalised]], cells: list[object]) -> tuple[float, list[Normalised]]:
        gc.collect()  # start each timing from the same heap state
        started = time.process_time()
        result = run(cells)
        return count / (time.process_time() - started), result

    def slow_path(cells: list[object]) -> list[Normalised]:
        return [_normalise_slow(cell) for cell in cells]

    for label, spread in (("utility area codes", False), ("whole NANP", True)):
        cells = _messy_sample(count, spread=spread)
        _DECISIONS[:] = bytes(len(_DECISIONS))  # cold caches, like a fresh worker
        _parse_slow.cache_clear()
        cold, fast = rate(normalise_many, cells)
        warm, _ = rate(normalise_many, cells)
        slow_rate, slow = rate(slow_path, cells)
        assert fast == slow, "fast and slow paths disagree"
        print(
            f"{label}: fast {cold:,.0f}/s cold cache, {warm:,.0f}/s warm; "
            f"slow {slow_rate:,.0f}/s; {count:,} cells, identical results"
        )


if __name__ == "__main__":  # pragma: no cover
    import sys

    # Run the imported module, not this __main__ copy: the configured checker
    # is loaded by dotted path from subscribers.phones, and two copies would
    # mean two prefix caches and a checker class that is not "the default".
    from subscribers.phones import _benchmark as benchmark

    benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
