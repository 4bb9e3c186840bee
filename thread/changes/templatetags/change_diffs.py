from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain(value):
    """A diff value as people read it: 4, not 4.000000; nothing as "(none)"."""
    if value is None:
        return "(none)"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value
