"""The ALP field map's language column (issue 18): each number's language from the file; Preformatted unchanged."""

import pytest

from imports import services
from imports.fieldmap import FieldMap
from imports.models import Mode, Stage
from subscribers.models import Subscriber
from subscribers.transitions import State
from tests.conftest import verified_login

pytestmark = pytest.mark.django_db

CONTENT = (
    "Account,PrimaryPhone,MobilePhone,District,Lang\n"
    "1001,(205) 555-0100,205-555-0101,D4,es\n"
    "1002,2055550102,,D1,Français\n"
    "1003,2055550103,,D1,\n"
    "1004,2055550104,,D1,klingon\n"
    "1005,2055550105,,D2,EN\n"
)


def _config(account, manager, language_column="Lang", mode=Mode.APPEND):
    config = services.configuration_save(
        account=account, user=manager, name="CIS export with languages", mode=mode,
        field_map=FieldMap.load({"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District"],
                                 "language_column": language_column}),
    )  # fmt: skip
    return services.configuration_approve(configuration=config, user=manager)


def _languages(account) -> dict:
    return dict(Subscriber.objects.filter(account=account).values_list("phone", "language"))


def test_an_alp_language_column_sets_each_numbers_language(account, manager, run_import, make_subscriber):
    make_subscriber(account, "+12055550105", State.OPTED_IN)
    Subscriber.objects.filter(phone="+12055550105").update(language="fr")
    make_subscriber(account, "+12055550104", State.OPTED_IN)
    Subscriber.objects.filter(phone="+12055550104").update(language="es")
    run = run_import(account, CONTENT, configuration=_config(account, manager))
    assert run.stage == Stage.DONE, run.error
    assert _languages(account) == {
        "+12055550100": "es", "+12055550101": "es",  # both phones of the row
        "+12055550102": "fr",
        "+12055550103": "en",  # blank: a new number starts in English
        "+12055550104": "es",  # unknown value: the number keeps its language
        "+12055550105": "en",  # an existing number's language changed by the file
    }  # fmt: skip


def test_a_dry_run_changes_no_language_and_preformatted_files_have_no_language_column(
    account, manager, run_import, make_subscriber
):
    make_subscriber(account, "+12055550100", State.OPTED_IN)
    run = run_import(account, CONTENT, configuration=_config(account, manager), dry_run=True)
    assert run.stage == Stage.DONE
    assert _languages(account) == {"+12055550100": "en"}
    run = run_import(account, "2055550100,es\n")  # Preformatted: "es" is a tag, as always
    assert _languages(account) == {"+12055550100": "en"}
    assert sorted(t.name for t in Subscriber.objects.get(phone="+12055550100").tags.all()) == ["es"]


def test_the_field_map_refuses_a_language_column_that_holds_phones_or_tags():
    for column in ("PrimaryPhone", "district"):
        with pytest.raises(ValueError, match="language column"):
            FieldMap.load({"phone_columns": ["PrimaryPhone"], "tag_columns": ["District"], "language_column": column})
    assert FieldMap.load({"phone_columns": ["A"], "header_row": 0, "language_column": "C"}).language_column == "C"
    with pytest.raises(ValueError, match="by letter"):
        FieldMap.load({"phone_columns": ["A"], "header_row": 0, "language_column": "Lang"})


def test_the_configuration_page_offers_and_keeps_the_language_column(client, account, manager):
    config = _config(account, manager)
    verified_login(client, manager)
    page = client.get(f"/configurations/{config.pk}/").content.decode()
    assert "Language column" in page and ">Lang</span>" in page
    edit = client.get(f"/configurations/{config.pk}/edit/").content.decode()
    assert 'for="id_language_column">Language column</label>' in edit and 'value="Lang"' in edit
