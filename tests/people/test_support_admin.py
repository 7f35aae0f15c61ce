"""Issue 23, item 8: support staff land in the admin from /login/, find a number however it is typed, and read the
ALP configurations there."""

import pytest
from django.test import Client
from django.urls import reverse

from imports.models import ImportConfiguration
from people.services import backup_code_issue
from subscribers.models import OptEvent, Source, Subscriber
from tests.conftest import verified_login
from tests.people.conftest import enrolled, password_step

pytestmark = pytest.mark.django_db


def test_support_logging_in_at_login_lands_in_the_admin_not_a_403(client, support):
    enrolled(support)
    password_step(client, "support")
    code = backup_code_issue(user=support, by_name="test")
    response = client.post(reverse("login_verify"), {"code": code}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:index")


def test_a_manager_still_lands_on_the_dashboard(manager_client):
    response = manager_client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("dashboard")


@pytest.mark.parametrize("typed", ["2185550199", "555-0199", "(218) 555-0199", "+1 218 555 0199", "218.555.0199"])
def test_the_admins_number_search_accepts_the_shapes_managers_type(support, account, typed):
    Subscriber.objects.create(account=account, phone="+12185550199", status="opted_in")
    Subscriber.objects.create(account=account, phone="+12185550100", status="opted_in")
    OptEvent.objects.create(account=account, phone="+12185550199", old_status="", new_status="opted_in",
                            source=Source.MANAGER)  # fmt: skip
    staff = verified_login(Client(), support)
    page = staff.get(reverse("admin:subscribers_subscriber_changelist"), {"q": typed}).content.decode()
    assert "+12185550199" in page and "+12185550100" not in page
    events = staff.get(reverse("admin:subscribers_optevent_changelist"), {"q": typed}).content.decode()
    assert "+12185550199" in events


def test_support_reads_the_alp_configurations_in_admin_without_changing_them(support, account, manager):
    configuration = ImportConfiguration.objects.create(
        account=account, name="Nightly CIS export", field_map={"phone_columns": ["PrimaryPhone"]}, created_by=manager
    )
    staff = verified_login(Client(), support)
    listing = staff.get(reverse("admin:imports_importconfiguration_changelist")).content.decode()
    assert "Nightly CIS export" in listing and "Needs approval" in listing
    page = staff.get(reverse("admin:imports_importconfiguration_change", args=[configuration.pk]))
    assert page.status_code == 200 and "PrimaryPhone" in page.content.decode()
    assert b'name="_save"' not in page.content
