from django import template

from thread.flows.alerts import current_flow_alerts
from thread.flows.selectors import COUNT_CAP

register = template.Library()


@register.simple_tag(takes_context=True)
def flow_alerts(context) -> list:
    """The alerts in force, for people who may see the flows (two queries); none for others."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("flows.view_outboundmessage"):
        return []
    return current_flow_alerts()


@register.filter
def flow_count(count: int) -> str:
    """A count from the flow selectors, which stop counting after COUNT_CAP: "10,000+"."""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"
