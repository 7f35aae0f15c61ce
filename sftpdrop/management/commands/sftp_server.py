import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from sftpdrop.hostkey import host_key_fingerprint, host_key_path
from sftpdrop.server import drop_server_start

log = logging.getLogger("sftpdrop.server")


class Command(BaseCommand):
    help = "Run the SFTP drop: accounts' scheduled jobs push files here to be imported."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SFTP_PORT)

    def handle(self, *args, host, port, **options):
        asyncio.run(self._serve(host, port))

    async def _serve(self, host: str, port: int) -> None:
        server = await drop_server_start(host=host, port=port)
        fingerprint = await asyncio.to_thread(host_key_fingerprint)
        self.stdout.write(f"SFTP drop listening on {host}:{port} (host key {fingerprint}, kept in {host_key_path()})")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        server.close()
        await server.wait_closed()
        self.stdout.write("SFTP drop stopped")
