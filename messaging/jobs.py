"""RQ jobs: thin wrappers that take an id and call the service."""

from alertmanager.jobqueue import Lease
from alertmanager.logs import job_context
from messaging import alerts, optin, webhooks


def alert_send_job(alert_id: int) -> str:
    from redis.exceptions import RedisError

    from messaging.models import Alert

    alerts._inflight_redis().delete(f"am:alert:{alert_id}:queued")
    account = Alert.objects.filter(pk=alert_id).values_list("account__slug", flat=True).first()
    with job_context(alert=alert_id, account=account), Lease(alerts.alert_lease_key(alert_id)) as lease:
        if lease.held_elsewhere():
            return "sending on another worker"
        try:
            alerts.alert_send(alert_id=alert_id)
        except RedisError:
            # Redis went away mid-send: the texts stay as they are and the janitor resumes the alert once it is back.
            raise
        except Exception as exc:
            Alert.objects.filter(pk=alert_id).update(stage=Alert.Stage.FAILED, error=str(exc)[:1000])
            raise
    return "sent"


def inbound_forward_job(inbound_id: int) -> None:
    webhooks.inbound_forward(inbound_id=inbound_id)


def opt_in_requests_expire_job() -> int:
    return optin.opt_in_requests_expire()


def consent_event_post_job(event_id: int) -> None:
    webhooks.consent_event_deliver(event_id=event_id)
