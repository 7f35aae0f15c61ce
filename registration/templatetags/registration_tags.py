from django import template

from subscribers import phones

register = template.Library()


@register.filter
def national(e164: str) -> str:
    return phones.format_national(e164 or "")
