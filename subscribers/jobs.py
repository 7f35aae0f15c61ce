"""RQ jobs of the subscribers app: thin, each takes an identifier and calls the code that does the work."""

from subscribers import exports


def export_run(token: str) -> None:
    exports.export_run(token)
