"""The change order's state machine, in one place: from which statuses each step may be taken
and what a person needs to take it. The services refuse a step from any other status; the admin
offers exactly the steps this table allows (approval is per stage, by the stage's groups, and
is not a button of its own)."""

from __future__ import annotations

from dataclasses import dataclass

from .choices import CANCELLABLE, ChangeOrderStatus


@dataclass(frozen=True)
class Step:
    from_statuses: tuple[str, ...]
    permission: str  # what a person needs (systems act through the API's own rights)
    done: str  # the step as a past participle, for refusals and messages


EDIT = Step((ChangeOrderStatus.DRAFT,), "changes.change_changeorder", "edited")
ITEMS = Step((ChangeOrderStatus.DRAFT,), "changes.add_affecteditem", "given affected items")
APPROVE = Step((ChangeOrderStatus.IN_REVIEW,), "changes.view_changeorder", "approved")

# The steps a change order's page offers as buttons, in the order they are shown.
STEPS: dict[str, Step] = {
    "submit": Step((ChangeOrderStatus.DRAFT,), "changes.change_changeorder", "submitted"),
    "reject": Step((ChangeOrderStatus.IN_REVIEW,), "changes.view_changeorder", "rejected"),
    "release": Step((ChangeOrderStatus.APPROVED,), "changes.release_changeorder", "released"),
    "cancel": Step(tuple(CANCELLABLE), "changes.change_changeorder", "cancelled"),
}


def may_take(step: Step, *, status: str, user=None) -> bool:
    """Whether `step` may be taken from `status` (and, given a person, by them)."""
    return status in step.from_statuses and (user is None or user.has_perm(step.permission))


def steps_open(*, status: str, user) -> list[str]:
    """The page's steps that `user` may take on a change order in `status`."""
    return [name for name, step in STEPS.items() if may_take(step, status=status, user=user)]
