"""The keyword rule of messaging.keywords, word by word."""

import pytest

from messaging.keywords import Meaning, meaning_of
from messaging.sms import segments_of


@pytest.mark.parametrize(
    "text",
    ["stop", " STOP ", "Stop.", "STOP!", "STOPALL", "stopall", "opt out", "Opt-Out", "OPTOUT", "stop please",
     "Unsubscribe", "cancel", "END", "quit", "Revoke", "please stop", "pls stop texting me", "\tstop\n"],
)  # fmt: skip
def test_it_reads_every_opt_out_word_and_variant_as_stop(text):
    assert meaning_of(text) == Meaning.STOP


@pytest.mark.parametrize(
    "text",
    ["When will the power be back on our street", "the power did not stop flickering all night long",
     "stopped", "nonstop", "hello", "", "   ", "?!"],
)  # fmt: skip
def test_it_forwards_texts_that_only_mention_a_word_in_a_longer_message_or_none(text):
    assert meaning_of(text) == Meaning.OTHER


@pytest.mark.parametrize("text", ["START", "start", " Unstop ", "start please", "yes start", "Start!"])
def test_it_reads_start_and_unstop_within_the_first_two_words(text):
    assert meaning_of(text) == Meaning.START


def test_it_reads_the_accounts_opt_in_keywords_within_the_first_two_words_only():
    assert meaning_of("OUTAGE", ["OUTAGE"]) == Meaning.START
    assert meaning_of("join outage alerts", ["outage"]) == Meaning.START
    assert meaning_of("please add me to outage", ["OUTAGE"]) == Meaning.OTHER
    assert meaning_of("OUTAGE", []) == Meaning.OTHER


def test_it_lets_an_opt_out_word_win_over_any_other_keyword():
    assert meaning_of("yes stop") == Meaning.STOP
    assert meaning_of("start stop") == Meaning.STOP
    assert meaning_of("help stop") == Meaning.STOP


@pytest.mark.parametrize(("text", "meaning"), [("YES", Meaning.CONFIRM), ("yes.", Meaning.CONFIRM),
                                               ("Yes please", Meaning.CONFIRM), ("HELP", Meaning.HELP),
                                               ("info", Meaning.HELP), ("Help?", Meaning.HELP)])  # fmt: skip
def test_it_reads_yes_and_help_as_the_first_word(text, meaning):
    assert meaning_of(text) == meaning


def test_it_counts_gsm_segments_with_extended_characters_as_two():
    assert segments_of("a" * 160).segments == 1
    assert segments_of("a" * 161).segments == 2
    assert segments_of("a" * 306).segments == 2
    assert segments_of("a" * 307).segments == 3
    assert segments_of("€" * 80).units == 160
    assert segments_of("€" * 80).encoding == "GSM-7"


def test_it_counts_ucs2_when_a_character_is_outside_gsm():
    assert segments_of("Power is back ⚡").encoding == "UCS-2"
    assert segments_of("’" * 70).segments == 1
    assert segments_of("’" * 71).segments == 2
    assert segments_of("😀").units == 2  # an emoji is two UTF-16 code units
    assert segments_of("").segments == 0


def test_the_twilio_gateway_refuses_to_start_without_credentials(settings):
    from django.core.exceptions import ImproperlyConfigured

    from messaging.gateway import TwilioGateway

    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        TwilioGateway()
