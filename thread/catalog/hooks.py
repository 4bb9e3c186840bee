"""Reactions of higher layers to what happens in the catalog. The app that reacts registers its
hook at start-up (`AppConfig.ready`), because the catalog may not import it: the layers only
import downwards, and signals would hide the business rule. A hook runs inside the catalog
service's transaction, so a hook that fails rolls the whole change back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# after_release(revisions=[released PartRevision, ...], actor=..., reason=...)
AfterRelease = Callable[..., Any]

_after_release: list[AfterRelease] = []


def register_after_release(hook: AfterRelease) -> None:
    if hook not in _after_release:
        _after_release.append(hook)


def run_after_release(*, revisions: Sequence[Any], actor: Any, reason: str) -> None:
    for hook in _after_release:
        hook(revisions=list(revisions), actor=actor, reason=reason)
