from django import template

from subscribers import phones

register = template.Library()


@register.filter
def national(e164: str) -> str:
    return phones.format_national(e164 or "")


@register.inclusion_tag("registration/_unregistered.html", takes_context=True)
def unregistered_warning(context):
    """A warning wherever alerts are sent or watched, while carriers would block the account's texts."""
    from registration.selectors import registration_gap

    request = context.get("request")
    account = getattr(request, "account", None)
    return {"gap": registration_gap(account=account) if account is not None else ""}
