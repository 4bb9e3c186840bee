from django import template

from thread.flows.alerts import current_flow_alerts

register = template.Library()


@register.simple_tag(takes_context=True)
def flow_alerts(context) -> list:
    """The alerts in force, for people who may see the flows (one query); none for others."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("flows.view_outboundmessage"):
        return []
    return current_flow_alerts()
