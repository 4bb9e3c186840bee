"""`{% thread_links original as links %}`: the thread pages an admin page's object belongs to —
a revision's own, a part's per revision, a change order's per revision it brings in or takes
out, an order's or work order's revision (docs/feedback.md, "The thread page")."""

from django import template
from django.urls import reverse

from thread.catalog.models import Part, PartRevision
from thread.changes.models import ChangeOrder
from thread.orders.models import ProductionOrder, WorkOrder

register = template.Library()


def _link(part: str, label: str, title: str) -> dict[str, str]:
    return {"url": reverse("thread-story:page", args=[part, label]), "label": title}


@register.simple_tag
def thread_links(original) -> list[dict[str, str]]:
    if isinstance(original, PartRevision):
        return [_link(original.part.number, original.label, "Thread")]
    if isinstance(original, Part):
        return [_link(original.number, label, f"Thread rev {label}")
                for label in original.revisions.order_by("created_at", "id")
                .values_list("label", flat=True)]
    if isinstance(original, ChangeOrder):
        labels = []
        for item in original.affected_items.select_related("part", "from_revision",
                                                           "to_revision"):
            for revision in (item.from_revision, item.to_revision):
                if revision is not None:
                    labels.append(_link(item.part.number, revision.label,
                                        f"Thread {item.part.number} rev {revision.label}"))
        return labels
    if isinstance(original, ProductionOrder | WorkOrder) and original.revision_id:
        revision = original.revision
        return [_link(revision.part.number, revision.label, "Thread (built from)")]
    return []
