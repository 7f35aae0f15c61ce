"""Tests for subscribers.phones: the accepted shapes, the rejection reasons, the
pluggable line-type checker (subscribers.linetypes), and agreement of the fast path with the full
phonenumbers parse (the reference).

No database and no Django project needed:
    pytest tests/subscribers/test_phones.py -p no:django -q
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import ClassVar

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from subscribers import phones
from subscribers.linetypes import DEFAULT_LINE_TYPE_CHECKER, get_line_type_checker, load_line_type_checker
from subscribers.phones import (
    REASONS,
    Normalised,
    PhonenumbersLineTypeChecker,
    digits_only,
    format_national,
    normalise,
    normalise_many,
)

# Real area codes (555 is not one).  US and Canada, east to west.
US_CA_AREA_CODES = ["202", "205", "212", "305", "312", "415", "416", "514", "604", "613", "647", "702", "905", "907"]
# Other NANP members and US territories, which phonenumbers files under their own region.
OTHER_NANP_AREA_CODES = ["242", "246", "268", "340", "441", "671", "670", "684", "787", "809", "876", "939"]

SHAPES = [
    "({npa}) {nxx}-{line}",
    "{npa}.{nxx}.{line}",
    "{npa}-{nxx}-{line}",
    "{npa}{nxx}{line}",
    "1{npa}{nxx}{line}",
    "1-{npa}-{nxx}-{line}",
    "+1 {npa} {nxx} {line}",
]

SLOW_CHECKS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The agreement properties are the guard on the fast path: give them more tries.
AGREEMENT_CHECKS = settings(SLOW_CHECKS, max_examples=500)


def ok(e164: str) -> Normalised:
    return Normalised(e164, None)


def rejected(reason: str) -> Normalised:
    return Normalised(None, reason)


# -- strategies --------------------------------------------------------------

nxx = st.integers(200, 999).map(str)
line = st.integers(0, 9999).map(lambda n: f"{n:04d}")
valid_us_ca = st.builds(lambda npa, x, ln: npa + x + ln, st.sampled_from(US_CA_AREA_CODES), nxx, line)
padding = st.text(alphabet=" \t\n", max_size=3)


@st.composite
def formatted(draw: st.DrawFn) -> str:
    """Digits with arbitrary separators, prefixes and the odd stray '+':
    the inputs where a hand-written fast path could drift from phonenumbers."""
    npa = draw(st.sampled_from([*US_CA_AREA_CODES, *OTHER_NANP_AREA_CODES, "555", "800", "900", "500", "123"]))
    digits = npa + draw(st.text(alphabet="0123456789", min_size=5, max_size=9))
    prefix = draw(st.sampled_from(["", "1", "+1", "+", "+ 1", "(+1)", "11", "+11", "0"]))
    parts = [prefix] if prefix else []
    for digit in digits:
        parts.append(draw(st.sampled_from(["", "", "", " ", "-", ".", "(", ")", "+", "  "])))
        parts.append(digit)
    # Extensions: the fast path's subset, and forms only phonenumbers knows.
    extension = draw(st.sampled_from(["", "", "", " x12", "x1", " ext. 4", " EXT 123456", " extension 55"]))
    extension = extension or draw(st.sampled_from(["", " x 1234567", " ext:9", " #5", ";ext=3", " x", " ext 1234567"]))
    return draw(padding) + "".join(parts) + extension + draw(padding)


# -- accepted shapes ---------------------------------------------------------


@SLOW_CHECKS
@given(national=valid_us_ca, before=padding, after=padding)
def test_it_normalises_every_documented_shape_to_the_same_e164(national: str, before: str, after: str) -> None:
    npa, nxx_, line_ = national[:3], national[3:6], national[6:]
    e164 = "+1" + national
    cells = [before + shape.format(npa=npa, nxx=nxx_, line=line_) + after for shape in SHAPES]
    assert normalise_many(cells) == [ok(e164)] * len(SHAPES)
    # Each shape really takes the fast path (otherwise the speed claim is hollow).
    assert [phones._parse_fast(cell.strip()) for cell in cells] == [e164] * len(SHAPES)
    assert phones._normalise_slow(cells[0]) == ok(e164)


def test_it_accepts_the_spec_examples() -> None:
    cells = ["(202) 555-0173", "202.555.0173", "202-555-0173", "2025550173", "12025550173", "1-202-555-0173"]
    cells += ["+1 202 555 0173", "  202-555-0173  "]
    assert normalise_many(cells) == [ok("+12025550173")] * len(cells)
    assert normalise("(613) 555-0123") == ok("+16135550123")
    assert normalise("416.555.0199") == ok("+14165550199")


def test_it_accepts_spreadsheet_numeric_cells() -> None:
    cells = [2025550173, 2025550173.0, "2025550173.0", "2025550173.00", 12025550173, Decimal("2025550173")]
    assert normalise_many(cells) == [ok("+12025550173")] * len(cells)


# -- rejections --------------------------------------------------------------


def test_it_reports_blank_for_empty_cells() -> None:
    assert normalise_many([None, "", " ", "   ", "\t\n"]) == [rejected("blank")] * 5


@pytest.mark.parametrize("cell", ["2.025E+09", "5.552E+09", "2.02555E+09", "2.025550173e9", "2025550173E0"])
def test_it_rejects_scientific_notation_text_as_invalid(cell: str) -> None:
    # The spreadsheet rounded the mantissa for display; the digits are gone.
    assert normalise(cell) == rejected("invalid")
    assert phones._normalise_slow(cell) == rejected("invalid")


@pytest.mark.parametrize(
    "cell", [2025550173.5, float("nan"), float("inf"), -2025550173.0, 0.0, Decimal("2025550173.25"), Decimal("sNaN")]
)
def test_it_rejects_non_integral_or_non_positive_numbers_as_invalid(cell: float | Decimal) -> None:
    assert normalise(cell) == rejected("invalid")


def test_it_reads_an_integral_float_in_exponent_form_as_its_exact_value() -> None:
    # A float cell holds the full value (only the display was rounded), so
    # 2.025e9 is exactly 2025000000: a valid number, unlike the *text* "2.025E+09".
    assert 2.025e9 == 2025000000
    assert normalise(2.025e9) == ok("+12025000000")


@pytest.mark.parametrize("cell", ["(555) 201-3344", "555-201-3344", "+15552013344", "1 555 201 3344", 5552013344])
def test_it_rejects_area_code_555_as_invalid(cell: object) -> None:
    assert normalise(cell) == rejected("invalid")
    assert phones._normalise_slow(cell) == rejected("invalid")


@pytest.mark.parametrize(
    "cell", ["n/a", "call me", "123", "202-555", "202555017", "202555017345", True, -2025550173, 0, "(123) 456-7890"]
)
def test_it_rejects_junk_as_invalid(cell: object) -> None:
    assert normalise(cell) == rejected("invalid")


@pytest.mark.parametrize("cell", ["+44 20 7946 0958", "+33 1 23 45 67 89", "+52 55 1234 5678", "+44 20 7946 0958 x3"])
def test_it_rejects_other_countries_as_not_us_ca(cell: str) -> None:
    assert normalise(cell) == rejected("not_us_ca")


@pytest.mark.parametrize("region", ["PR", "GU", "VI", "AS", "MP", "JM", "BS", "DO", "BB"])
def test_it_rejects_other_nanp_regions_as_not_us_ca_on_both_paths(region: str) -> None:
    number = phonenumbers.example_number(region)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)  # e.g. "(787) 234-5678"
    assert phones._parse_fast(national) is not None  # decided by the fast path...
    assert normalise(national) == rejected("not_us_ca")
    assert phones._normalise_slow(national) == rejected("not_us_ca")  # ...exactly as the full parse


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("1-800-555-0173", PhoneNumberType.TOLL_FREE),
        ("(888) 555-0173", PhoneNumberType.TOLL_FREE),
        ("833.555.0173", PhoneNumberType.TOLL_FREE),
        ("+1 900 555 0173", PhoneNumberType.PREMIUM_RATE),
        ("500-555-0173", PhoneNumberType.PERSONAL_NUMBER),
    ],
)
def test_it_rejects_non_textable_kinds_as_not_mobile(cell: str, kind: int) -> None:
    assert phonenumbers.number_type(phonenumbers.parse(cell, "US")) == kind  # the premise
    assert normalise(cell) == rejected("not_mobile")
    assert phones._normalise_slow(cell) == rejected("not_mobile")


@pytest.mark.parametrize(
    "cell", ["202-555-0173 x12", "202-555-0173 ext. 4", "(202) 555-0173 extension 55", "+1 202 555 0173 #5"]
)
def test_it_rejects_extensions_as_not_mobile(cell: str) -> None:
    assert normalise(cell) == rejected("not_mobile")
    assert phones._normalise_slow(cell) == rejected("not_mobile")


def test_it_decides_common_extension_forms_on_the_fast_path() -> None:
    cells = ["202-555-0173 x12", "(202) 555-0173 ext. 4", "2025550173 EXT 9", "555-201-3344 x2", "876-555-0173 x2"]
    assert [phones._parse_fast(cell) for cell in cells] == [
        rejected("not_mobile"),
        rejected("not_mobile"),
        rejected("not_mobile"),
        rejected("invalid"),  # invalid outranks the extension
        rejected("not_us_ca"),
    ]
    assert phones._parse_fast("202-555-0173 #5") is None  # rarer forms: phonenumbers decides


def test_it_keeps_order_length_and_duplicates_in_bulk() -> None:
    cells = ["202-555-0173", None, "+44 20 7946 0958", "202-555-0173", "800-555-0173", "555-201-3344", 6135550123]
    results = normalise_many(iter(cells))  # any iterable, e.g. a CSV reader
    assert results == [
        ok("+12025550173"),
        rejected("blank"),
        rejected("not_us_ca"),
        ok("+12025550173"),
        rejected("not_mobile"),
        rejected("invalid"),
        ok("+16135550123"),
    ]
    assert all((r.e164 is None) != (r.reason is None) and r.reason in (None, *REASONS) for r in results)
    assert normalise_many([]) == []


# -- display and search helpers ----------------------------------------------


def test_it_formats_national_for_display() -> None:
    assert format_national("+12025550173") == "(202) 555-0173"
    assert format_national("+16135550123") == "(613) 555-0123"
    assert format_national("+442079460958") == "+44 20 7946 0958"  # legacy/foreign: international form
    assert format_national("garbage") == "garbage"  # display never raises


def test_it_strips_search_text_to_digits() -> None:
    assert digits_only("(202) 555") == "202555"
    assert digits_only("+1 202-555-0173") == "12025550173"
    assert digits_only("２０２") == "202"  # full-width digits typed on a CJK keyboard
    assert digits_only("abc") == ""


# -- pluggable line-type checker ----------------------------------------------


class EvenNumbersOnlyChecker:
    """A stand-in for a carrier lookup: textable iff the last digit is even.
    Records each batch so the test can see it is called once per import."""

    batches: ClassVar[list[list[str]]] = []

    def textable(self, e164s: list[str]) -> dict[str, bool]:
        type(self).batches.append(list(e164s))
        return {e164: int(e164[-1]) % 2 == 0 for e164 in e164s}


class NotAChecker:
    pass


def _override_checker(dotted_path: str):  # -> django.test.override_settings
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads DJANGO_SETTINGS_MODULE when there is one
    except ImproperlyConfigured:
        settings.configure()  # bare settings when run with -p no:django
    from django.test import override_settings

    return override_settings(PHONE_LINE_TYPE_CHECKER=dotted_path)


def test_it_uses_the_checker_named_in_settings() -> None:
    EvenNumbersOnlyChecker.batches.clear()
    cells = ["202-555-0172", "202-555-0173", "(202) 555-0172", "800-555-0172", "+44 20 7946 0958"]
    with _override_checker(f"{__name__}.EvenNumbersOnlyChecker"):
        assert isinstance(get_line_type_checker(), EvenNumbersOnlyChecker)
        results = normalise_many(cells)
    assert results == [
        ok("+12025550172"),
        rejected("not_mobile"),  # odd: the custom checker refuses it
        ok("+12025550172"),
        ok("+18005550172"),  # the custom checker, not phonenumbers, decides the line type
        rejected("not_us_ca"),  # never reaches the checker
    ]
    # One batch, distinct numbers only: a paid lookup is not asked twice.
    assert EvenNumbersOnlyChecker.batches == [["+12025550172", "+12025550173", "+18005550172"]]
    with _override_checker(DEFAULT_LINE_TYPE_CHECKER):
        assert isinstance(get_line_type_checker(), PhonenumbersLineTypeChecker)
        assert get_line_type_checker() is get_line_type_checker()  # built once
        assert normalise("800-555-0172") == rejected("not_mobile")


def test_it_loads_checkers_by_dotted_path_and_refuses_bad_ones() -> None:
    assert isinstance(load_line_type_checker(DEFAULT_LINE_TYPE_CHECKER), PhonenumbersLineTypeChecker)
    with pytest.raises(TypeError):
        load_line_type_checker(f"{__name__}.NotAChecker")
    with pytest.raises(ImportError):
        load_line_type_checker("NoDots")
    with pytest.raises(ModuleNotFoundError):
        load_line_type_checker("subscribers.no_such_module.Checker")
    with pytest.raises(ImportError):
        load_line_type_checker("subscribers.phones.NoSuchChecker")


def test_it_has_the_default_checker_accept_mobile_kinds_only() -> None:
    checker = PhonenumbersLineTypeChecker()
    verdict = checker.textable(["+12025550173", "+16135550123", "+18005550173", "+19005550173", "+447911123456"])
    assert verdict == {
        "+12025550173": True,
        "+16135550123": True,
        "+18005550173": False,
        "+19005550173": False,
        "+447911123456": True,  # a UK mobile: textable (region is checked elsewhere)
    }


# -- fast path == slow path ----------------------------------------------------


def _assert_paths_agree(cells: list[object]) -> None:
    fast = normalise_many(cells)
    slow = [phones._normalise_slow(cell) for cell in cells]
    for cell, got, want in zip(cells, fast, slow, strict=True):
        assert got == want, f"{cell!r}: fast {got} != slow {want}"


@AGREEMENT_CHECKS
@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=10, max_size=11),
        st.builds(
            lambda a, rest: a + rest,
            st.sampled_from(US_CA_AREA_CODES + OTHER_NANP_AREA_CODES),
            st.text("0123456789", min_size=7, max_size=7),
        ),
        st.builds(
            lambda a, rest: "1" + a + rest,
            st.sampled_from(US_CA_AREA_CODES + OTHER_NANP_AREA_CODES),
            st.text("0123456789", min_size=7, max_size=7),
        ),
    )
)
def test_it_agrees_with_the_slow_path_on_random_digit_strings(cell: str) -> None:
    assert phones._parse_fast(cell) is not None or not (len(cell) == 10 or cell.startswith("1"))
    _assert_paths_agree([cell])


@AGREEMENT_CHECKS
@given(formatted())
def test_it_agrees_with_the_slow_path_on_random_formatted_shapes(cell: str) -> None:
    _assert_paths_agree([cell])


@pytest.mark.slow
def test_it_agrees_with_the_slow_path_on_200000_seeded_random_numbers() -> None:
    rng = random.Random(1_966_0000)
    shapes = [*SHAPES, "{npa}{nxx}{line}", "{npa}{nxx}{line}"]
    cells: list[object] = []
    for _ in range(200_000):
        roll = rng.random()
        if roll < 0.5:  # anywhere in the NANP, including invalid area codes and exchanges
            npa, nxx_ = f"{rng.randint(0, 999):03d}", f"{rng.randint(0, 999):03d}"
        elif roll < 0.8:  # real US/CA area codes: mostly valid numbers
            npa, nxx_ = rng.choice(US_CA_AREA_CODES), f"{rng.randint(0, 999):03d}"
        else:  # the rest of the NANP, including the few prefixes where the 7th digit matters
            npa, nxx_ = (
                rng.choice(OTHER_NANP_AREA_CODES + ["246", "876"]),
                rng.choice([f"{rng.randint(0, 999):03d}", "521", "522", "606"]),
            )
        cells.append(rng.choice(shapes).format(npa=npa, nxx=nxx_, line=f"{rng.randint(0, 9999):04d}"))
    assert sum(phones._parse_fast(cell) is not None for cell in cells) == len(cells)  # all on the fast path
    _assert_paths_agree(cells)


def test_it_caches_no_prefix_whose_last_four_digits_matter() -> None:
    uncacheable = phones._tables().uncacheable
    assert uncacheable is not None, "the prefix proof could not model the metadata: cache off"
    # Found by the proof from phonenumbers' own regexes (Barbados, Jamaica).
    assert {246521, 876606} <= uncacheable
    for prefix in sorted(uncacheable):
        national_numbers = [f"{prefix:06d}{ending:04d}" for ending in range(10_000)]
        codes = {phones._nanp_decision(n) for n in national_numbers}
        assert len(codes) > 1, "the proof flags only prefixes where the ending really matters"
        assert phones._DECISIONS[prefix] == phones._CODE_UNKNOWN  # never stored
        for national in national_numbers[::7]:
            number = phonenumbers.parse("+1" + national)
            valid = phonenumbers.is_valid_number(number)
            assert (phones._nanp_decision(national) != phones._CODE_INVALID) == valid


def test_it_finds_undecided_prefixes_in_a_pattern() -> None:
    assert phones._undecided_prefixes(r"202555[2-9]\d{3}") == {"202555"}
    assert phones._undecided_prefixes(r"202555\d{4}|2025[0-4]\d{5}") == frozenset()
    assert phones._undecided_prefixes(r"(?:26848[01]|2648)\d{4,5}") == frozenset()
    assert len(phones._undecided_prefixes(r"2\d{8}[13]")) == 100_000
