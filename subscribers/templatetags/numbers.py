from django import template

from subscribers import phones, vocabulary

register = template.Library()


@register.filter
def national(e164: str) -> str:
    """+12185550134 → (218) 555-0134"""
    return phones.format_national(e164 or "")


@register.filter
def opted_out_by(value: str, form: str) -> str:
    """Who opted a number out, in one of the vocabulary's forms: {{ s.opted_out_by|opted_out_by:"record" }}"""
    return vocabulary.opted_out_by_words(value, form)
