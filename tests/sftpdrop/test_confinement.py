"""The drop as an SFTP client sees it: one empty folder that takes uploads and refuses everything else."""

import asyncssh
import pytest

from sftpdrop import services
from tests.sftpdrop.conftest import connect, run


async def _sftp(server, credential, password, action):
    async with connect(server, credential.username, password) as conn:
        async with conn.start_sftp_client() as sftp:
            return await action(sftp)


def _refused(server, credentials, action) -> asyncssh.SFTPError:
    credential, password = credentials
    with pytest.raises(asyncssh.SFTPError) as caught:
        run(_sftp(server, credential, password, action))
    return caught.value


def _spooled(settings, account) -> list:
    folder = settings.SFTP_SPOOL_DIR / str(account.pk)
    return sorted(folder.iterdir()) if folder.exists() else []


def test_it_shows_an_empty_home_folder_after_login(drop_server, credentials):
    credential, password = credentials

    async def look(sftp):
        return await sftp.realpath("."), await sftp.listdir("."), await sftp.isdir("/")

    home, names, is_folder = run(_sftp(drop_server, credential, password, look))
    assert home == "/"
    assert sorted(names) == [".", ".."]
    assert is_folder


@pytest.mark.parametrize("path", ["..", "../..", "/..", "/../../etc", "./../../../"])
def test_it_keeps_dot_dot_inside_the_home_folder(drop_server, credentials, path):
    credential, password = credentials

    async def climb(sftp):
        return await sftp.realpath(path), await sftp.listdir(path if path.rstrip("/").endswith("..") else "/")

    where, names = run(_sftp(drop_server, credential, password, climb))
    assert where in ("/", "/etc")
    assert sorted(names) == [".", ".."]


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../etc/passwd", "/tmp/x.csv", "sub/x.csv", "../1/x.csv"])
def test_it_refuses_uploads_outside_the_top_folder(drop_server, credentials, path, tmp_path):
    async def escape(sftp):
        async with sftp.open(path, "wb") as handle:
            await handle.write(b"5551234567\n")

    error = _refused(drop_server, credentials, escape)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)
    assert "top folder" in error.reason
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("path", ["/etc", "/etc/", "/tmp", "/1", "../2", "/var/../etc"])
def test_it_refuses_listing_any_other_folder(drop_server, credentials, path):
    error = _refused(drop_server, credentials, lambda sftp: sftp.listdir(path))
    assert isinstance(error, asyncssh.SFTPPermissionDenied)


@pytest.mark.parametrize("path", ["/etc/passwd", "/etc", "x.csv"])
def test_it_reports_nothing_about_files_outside(drop_server, credentials, path):
    error = _refused(drop_server, credentials, lambda sftp: sftp.stat(path))
    assert isinstance(error, asyncssh.SFTPNoSuchFile)


def test_it_refuses_reading_files(drop_server, credentials):
    async def read(sftp):
        async with sftp.open("/etc/passwd", "rb") as handle:
            return await handle.read()

    error = _refused(drop_server, credentials, read)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)
    assert "cannot be read" in error.reason


def test_it_refuses_opening_for_read_and_write(drop_server, credentials):
    async def read_write(sftp):
        async with sftp.open("x.csv", "r+b") as handle:
            return await handle.read()

    error = _refused(drop_server, credentials, read_write)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda sftp: sftp.symlink("/etc/passwd", "passwd"), id="symlink"),
        pytest.param(lambda sftp: sftp.link("/etc/passwd", "passwd"), id="hardlink"),
        pytest.param(lambda sftp: sftp.readlink("x"), id="readlink"),
        pytest.param(lambda sftp: sftp.rename("a.csv", "/etc/a.csv"), id="rename"),
        pytest.param(lambda sftp: sftp.posix_rename("a.csv", "../a.csv"), id="posix_rename"),
        pytest.param(lambda sftp: sftp.remove("a.csv"), id="remove"),
        pytest.param(lambda sftp: sftp.mkdir("sub"), id="mkdir"),
        pytest.param(lambda sftp: sftp.rmdir("/"), id="rmdir"),
        pytest.param(lambda sftp: sftp.chmod("/", 0o777), id="setstat"),
        pytest.param(lambda sftp: sftp.utime("/", (0, 0)), id="setstat-times"),
    ],
)
def test_it_refuses_every_change_but_an_upload(drop_server, credentials, operation):
    error = _refused(drop_server, credentials, operation)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)


def test_it_refuses_setstat_on_an_open_upload(drop_server, credentials, ready_account, settings):
    async def chmod_open(sftp):
        handle = await sftp.open("list.csv", "wb")
        await handle.write(b"2025550143\n")
        await handle.chmod(0o777)

    error = _refused(drop_server, credentials, chmod_open)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)
    assert _spooled(settings, ready_account) == []


def test_it_never_follows_a_link_that_already_exists_in_the_spool(
    drop_server, credentials, ready_account, settings, tmp_path
):
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    folder = settings.SFTP_SPOOL_DIR / str(ready_account.pk)
    folder.mkdir(parents=True)
    (folder / "evil.csv").symlink_to(outside)

    async def through_the_link(sftp):
        names = await sftp.listdir("/")
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.stat("evil.csv")
        handle = await sftp.open("evil.csv", "wb")
        await handle.write(b"overwritten")
        return names  # the connection ends with the file still open: a cut transfer

    names = run(_sftp(drop_server, *credentials, through_the_link))
    assert "evil.csv" not in names
    assert outside.read_text() == "untouched"
    assert (folder / "evil.csv").is_symlink()


def test_it_keeps_another_accounts_uploads_out_of_reach(drop_server, credentials, other_account, settings):
    services.sftp_settings_update(account=other_account, preformatted_default=True)
    other, other_password = services.credential_create(account=other_account)
    credential, password = credentials

    async def both():
        async with connect(drop_server, credential.username, password) as conn:
            async with conn.start_sftp_client() as sftp:
                handle = await sftp.open("lakeside.csv", "wb")
                await handle.write(b"2025550143\n")
                async with connect(drop_server, other.username, other_password) as other_conn:
                    async with other_conn.start_sftp_client() as other_sftp:
                        seen = await other_sftp.listdir("/")
                        with pytest.raises(asyncssh.SFTPNoSuchFile):
                            await other_sftp.stat("lakeside.csv")
                        with pytest.raises(asyncssh.SFTPPermissionDenied):
                            await other_sftp.listdir(f"../{credential.account_id}")
                        with pytest.raises(asyncssh.SFTPPermissionDenied):
                            await other_sftp.open(f"../{credential.account_id}/lakeside.csv", "wb")
                return seen

    assert sorted(run(both())) == [".", ".."]
    assert _spooled(settings, other_account) == []


def test_it_refuses_a_shell_commands_and_other_subsystems(drop_server, credentials):
    credential, password = credentials

    async def try_them():
        refused = []
        async with connect(drop_server, credential.username, password) as conn:
            for attempt in (
                lambda: conn.run("cat /etc/passwd"),
                lambda: conn.create_process(),
                lambda: conn.create_process(subsystem="netconf"),
                lambda: conn.run("scp -t /tmp"),
            ):
                try:
                    await attempt()
                except asyncssh.ChannelOpenError:
                    refused.append(True)
        return refused

    assert run(try_them()) == [True, True, True, True]


def test_it_refuses_port_forwarding_both_ways(drop_server, credentials):
    credential, password = credentials

    async def forward():
        async with connect(drop_server, credential.username, password) as conn:
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("127.0.0.1", drop_server.port)
            with pytest.raises(asyncssh.ChannelListenError):
                await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_unix_connection("/var/run/postgresql/.s.PGSQL.5432")
            return True

    assert run(forward())


def test_it_overrides_every_filesystem_operation_of_asyncssh():
    """A method left to asyncssh's default would act on the server's real files."""
    from sftpdrop.server import DropFolder

    inherited = [
        name
        for name, value in vars(asyncssh.SFTPServer).items()
        if callable(value)
        and not name.startswith("_")
        and name not in ("format_user", "format_group", "format_longname", "convert_attrs")
        and name not in vars(DropFolder)
    ]
    assert inherited == []
