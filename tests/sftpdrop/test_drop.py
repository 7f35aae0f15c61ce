"""Files dropped over SFTP: a completed upload becomes an import run (source sftp) read by a real
worker and then deleted; a cut transfer, a refused account or an unreadable file leaves nothing."""

import asyncio

import asyncssh
import pytest

from imports import services as imports_services
from imports.fieldmap import FieldMap
from imports.models import ImportRun, Layout, Mode, RunSource, Stage
from sftpdrop import services
from subscribers.models import Status, Subscriber
from tests.conftest import run_worker
from tests.sftpdrop.conftest import connect, run

CIS_EXPORT = (
    "AccountNo,Name,PrimaryPhone,MobilePhone,District\n"
    "1001,Ada,(202) 555-0143,202.555.0188,North\n"
    "1002,Bo,312-555-0199,,South\n"
)


async def _upload(server, credential, password, name: str, content: bytes):
    async with connect(server, credential.username, password) as conn:
        async with conn.start_sftp_client() as sftp:
            async with sftp.open(name, "wb") as handle:
                await handle.write(content)


def _leftovers(settings) -> list:
    found = []
    for folder in (settings.SFTP_SPOOL_DIR, settings.UPLOAD_DIR):
        if folder.exists():
            found += [path for path in folder.rglob("*") if path.is_file()]
    return found


def _until(condition) -> None:
    """Wait for the server to notice a dropped connection (it cleans up on its own loop)."""
    for _ in range(200):
        if condition():
            return
        run(asyncio.sleep(0.05))
    raise AssertionError("the server never got there")


def test_a_completed_upload_becomes_an_sftp_import_and_leaves_no_file(
    drop_server, credentials, rq_queues, drop_settings
):
    credential, password = credentials
    run(_upload(drop_server, credential, password, "daily.csv", b"Phone,Tag\n2025550143,North\n3125550199,South\n"))
    imported = ImportRun.objects.get()
    assert (imported.source, imported.layout, imported.file_name) == (RunSource.SFTP, Layout.PREFORMATTED, "daily.csv")
    assert imported.account_id == credential.account_id
    run_worker("imports")
    imported.refresh_from_db()
    assert imported.stage == Stage.DONE
    assert imported.counts["opted_in"] == 2
    assert set(
        Subscriber.objects.filter(account_id=credential.account_id, status=Status.OPTED_IN).values_list(
            "phone", flat=True
        )
    ) == {
        "+12025550143",
        "+13125550199",
    }
    assert imported.file_path == ""
    assert _leftovers(drop_settings) == []


def test_its_results_are_in_the_import_history_like_a_web_upload(
    drop_server, credentials, rq_queues, drop_settings, manager_client
):
    credential, password = credentials
    run(_upload(drop_server, credential, password, "nightly.csv", b"Phone\n2025550143\n"))
    run_worker("imports")
    imported = ImportRun.objects.get()
    assert "nightly.csv" in manager_client.get("/imports/").content.decode()
    page = manager_client.get(f"/imports/{imported.pk}/").content.decode()
    assert "SFTP" in page and "nightly.csv" in page


def test_it_uses_the_accounts_approved_configuration(drop_server, account, manager, rq_queues, drop_settings):
    configuration = imports_services.configuration_save(
        account=account,
        user=manager,
        name="CIS nightly",
        field_map=FieldMap.load({"phone_columns": ["PrimaryPhone", "MobilePhone"], "tag_columns": ["District"]}),
        mode=Mode.APPEND,
    )
    imports_services.configuration_approve(configuration=configuration, user=manager)
    credential, password = services.credential_create(account=account)
    run(_upload(drop_server, credential, password, "cis.csv", CIS_EXPORT.encode()))
    run_worker("imports")
    imported = ImportRun.objects.get()
    assert (imported.layout, imported.configuration_id, imported.stage) == (Layout.ALP, configuration.pk, Stage.DONE)
    ada = Subscriber.objects.get(account=account, phone="+12025550188")
    assert ada.status == Status.OPTED_IN
    assert [tag.name for tag in ada.tags.all()] == ["North"]
    assert _leftovers(drop_settings) == []


def test_it_refuses_uploads_without_an_approved_configuration_with_a_message(drop_server, account, drop_settings):
    credential, password = services.credential_create(account=account)
    banners = []

    class Client(asyncssh.SSHClient):
        def auth_banner_received(self, msg, lang):
            banners.append(msg)

    async def upload():
        async with connect(drop_server, credential.username, password, client_factory=Client) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("customers.csv", "wb") as handle:
                    await handle.write(b"2025550143\n")

    with pytest.raises(asyncssh.SFTPPermissionDenied) as caught:
        run(upload())
    assert "no approved import configuration" in caught.value.reason
    assert banners and "no approved import configuration" in banners[0]
    assert not ImportRun.objects.exists()
    assert _leftovers(drop_settings) == []


def test_a_configuration_changed_after_approval_is_refused(drop_server, account, manager, drop_settings):
    field_map = FieldMap.load({"phone_columns": ["PrimaryPhone"]})
    configuration = imports_services.configuration_save(
        account=account, user=manager, name="CIS", field_map=field_map, mode=Mode.APPEND
    )
    imports_services.configuration_approve(configuration=configuration, user=manager)
    imports_services.configuration_save(
        account=account,
        user=manager,
        name="CIS",
        field_map=field_map,
        mode=Mode.APPEND_HARD,
        configuration=configuration,
    )
    credential, password = services.credential_create(account=account)
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        run(_upload(drop_server, credential, password, "cis.csv", CIS_EXPORT.encode()))
    assert not ImportRun.objects.exists()


def test_a_transfer_cut_halfway_is_not_imported_and_is_removed(drop_server, credentials, rq_queues, drop_settings):
    credential, password = credentials

    async def cut():
        conn = await connect(drop_server, credential.username, password)
        sftp = await conn.start_sftp_client()
        handle = await sftp.open("customers.csv", "wb")
        await handle.write(b"2025550143,north\n" * 100)
        conn.abort()  # the line drops: the client never closes the file
        await conn.wait_closed()

    run(cut())
    _until(lambda: _leftovers(drop_settings) == [])
    run_worker("imports")
    assert not ImportRun.objects.exists()
    assert not Subscriber.objects.exists()


def test_an_unreadable_file_is_refused_with_the_reason_and_kept_nowhere(drop_server, credentials, drop_settings):
    credential, password = credentials
    old_excel = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000
    with pytest.raises(asyncssh.SFTPFailure) as caught:
        run(_upload(drop_server, credential, password, "list.xls", old_excel))
    assert ".xls" in caught.value.reason, caught.value.reason
    assert not ImportRun.objects.exists()
    assert _leftovers(drop_settings) == []


def test_a_preformatted_file_over_sftp_takes_the_action_the_manager_chose(
    drop_server, credentials, rq_queues, drop_settings, make_subscriber
):
    # Issue 23, item 9: processed "just as it would be" in the portal, where the action is chosen.
    from subscribers.transitions import State

    credential, password = credentials
    account = credential.account
    drop_settings.IMPORT_GUARD_SHARE = 1.0  # one number of three: not what this test is about
    services.sftp_settings_update(account=account, preformatted_default=True, preformatted_action="opt_out")
    assert services.drop_target(account=account).label == "Preformatted, opt out"
    for i in range(3):
        make_subscriber(account, f"+1202555014{i}", State.OPTED_IN)
    run(_upload(drop_server, credential, password, "revocations.csv", b"2025550140\n"))
    imported = ImportRun.objects.get()
    assert imported.action == "opt_out"
    run_worker("imports")
    imported.refresh_from_db()
    assert imported.stage == Stage.DONE and imported.counts["opted_out"] == 1
    assert Subscriber.objects.get(account=account, phone="+12025550140").status == Status.OPTED_OUT


def test_the_sftp_page_saves_the_preformatted_action(manager_client, account):
    response = manager_client.post(
        "/settings/sftp/import-settings/", {"preformatted_default": "on", "preformatted_action": "suspend"}, follow=True
    )
    assert response.status_code == 200
    assert services.sftp_settings_get(account=account).preformatted_action == "suspend"
    assert "Preformatted, suspend" in response.content.decode()
    assert '<label for="id_preformatted_action">What Preformatted files do</label>' in response.content.decode()
