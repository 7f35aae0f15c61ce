"""RQ jobs: thin wrappers that take an id and call the service."""

from messaging import services


def alert_send_job(alert_id: int) -> None:
    from messaging.models import Alert

    try:
        services.alert_send(alert_id=alert_id)
    except Exception as exc:
        Alert.objects.filter(pk=alert_id).update(stage=Alert.Stage.FAILED, error=str(exc)[:1000])
        raise


def inbound_forward_job(inbound_id: int) -> None:
    services.inbound_forward(inbound_id=inbound_id)


def opt_in_requests_expire_job() -> int:
    return services.opt_in_requests_expire()


def consent_event_post_job(event_id: int) -> None:
    services.consent_event_deliver(event_id=event_id)
