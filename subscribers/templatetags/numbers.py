from django import template

from subscribers import phones

register = template.Library()


@register.filter
def national(e164: str) -> str:
    """+12185550134 → (218) 555-0134"""
    return phones.format_national(e164 or "")
