"""RQ jobs of the subscribers app: thin, each takes an identifier and calls the code that does the work."""

from subscribers import exports


def export_run(token: str) -> None:
    exports.export_run(token)


def figures_refresh(account_id: int) -> None:
    from subscribers import selectors
    from subscribers.models import Account

    account = Account.objects.filter(pk=account_id).first()
    if account is not None:
        selectors.figures_refresh(account=account)
