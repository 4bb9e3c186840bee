"""Template filters of the bom pages."""

from decimal import Decimal

from django import template

from ..engine.serialise import decimal_text

register = template.Library()


@register.filter
def plain(value):
    """A Decimal in plain notation without trailing zeros (1.29, 1000): never 1.290000 or 1E+3."""
    return decimal_text(value) if isinstance(value, Decimal) else value


@register.filter
def lines_of(summary, kind: str) -> int:
    """Lines of one diff kind (added, removed, changed) over a previewed product's assemblies."""
    return summary.lines(kind)
