"""Files dropped over SFTP: a completed upload becomes an import run; anything else leaves nothing."""

import asyncssh

from tests.sftpdrop.conftest import connect, run


def test_it_removes_a_transfer_cut_halfway(drop_server, credentials, ready_account, drop_settings):
    credential, password = credentials

    async def cut():
        conn = await connect(drop_server, credential.username, password)
        sftp = await conn.start_sftp_client()
        handle = await sftp.open("customers.csv", "wb")
        await handle.write(b"2025550143,north\n" * 100)
        conn.abort()  # the line drops: no close from the client
        await conn.wait_closed()

    run(cut())
    folder = drop_settings.SFTP_SPOOL_DIR / str(ready_account.pk)
    for _ in range(200):  # until the server has noticed the dropped connection
        if not list(folder.iterdir()):
            break
        run(_pause())
    assert list(folder.iterdir()) == []


async def _pause():
    import asyncio

    await asyncio.sleep(0.05)


def test_it_refuses_uploads_without_an_approved_configuration_with_a_message(drop_server, account, drop_settings):
    from sftpdrop import services

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

    try:
        run(upload())
    except asyncssh.SFTPPermissionDenied as exc:
        refusal = exc.reason
    else:
        raise AssertionError("the upload was accepted")
    assert "no approved import configuration" in refusal
    assert banners and "no approved import configuration" in banners[0]
    assert not (drop_settings.SFTP_SPOOL_DIR / str(account.pk)).exists()
