"""The thread page (docs/feedback.md, "The thread page"): a revision's story for people, with
its charts; the same data as `GET /api/v1/feedback/threads/<part>/<revision>/`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe

from thread.flows.monitor_views import require

from . import charts
from .selectors import NotRecordedThen, revision_by_key, revision_story

VIEW_PERMISSION = "catalog.view_partrevision"
STANDARD = Decimal(1)


def moment_of(text: str | None) -> datetime | None:
    """`?at=` as an aware instant (ISO 8601; without an offset it is UTC). Raises ValueError
    for anything else."""
    if not text:
        return None
    parsed = parse_datetime(text.strip().replace(" ", "T"))
    if parsed is None:
        raise ValueError(f"{text!r} is not a date and time (ISO 8601, e.g. "
                         "2026-11-30T12:00Z).")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def thread_page(request: HttpRequest, part: str, revision: str) -> HttpResponse:
    require(request, VIEW_PERMISSION)
    found = revision_by_key(part, revision)
    if found is None:
        raise Http404(f"No revision {revision} of part {part}.")
    context: dict[str, Any] = {**admin.site.each_context(request), "is_nav_sidebar_enabled": False,
                               "title": f"Thread of {found.part.number} rev {found.label}",
                               "revision": found, "at_text": request.GET.get("at", "")}
    status = 200
    try:
        at = moment_of(context["at_text"])
        story = revision_story(revision=found, at=at)
    except (ValueError, NotRecordedThen) as exc:
        context["error"], status = str(exc), 400 if isinstance(exc, ValueError) else 404
    else:
        context.update(story=story, at=at, charts=story_charts(story))
    return render(request, "feedback/thread.html", context, status=status)


def story_charts(story: dict[str, Any]) -> dict[str, Any]:
    """The SVGs of a story (marked safe: the charts escape every text they draw): per plant,
    yield and run time against standard over days, one line per operation; scrap by reason;
    before/after the change order that brought the revision in."""
    feedback = story["feedback"]
    plants: dict[str, list[dict[str, Any]]] = {}
    for operation in feedback["operations"]:
        plants.setdefault(operation["plant"], []).append(operation)
    per_plant = []
    for plant, operations in plants.items():
        def series(measure: str, operations=operations) -> list[charts.Series]:
            return [charts.Series(op["operation"] or "(no operation)",
                                  [(d["day"], d[measure]) for d in op["days"]])
                    for op in operations if any(d[measure] is not None for d in op["days"])]
        per_plant.append({
            "plant": plant,
            "yield": mark_safe(charts.line_chart(
                f"First-pass yield per operation at {plant}", series("first_pass_yield"),
                as_percent=True)),
            "run": mark_safe(charts.line_chart(
                f"Run time against standard per operation at {plant}",
                series("run_vs_standard"), reference=STANDARD, reference_label="standard")),
        })
    effects = [{**effect, "chart": mark_safe(charts.before_after_chart(
        f"{effect['change_order']} at {effect['plant']}",
        [(label, effect["changes"][name]["before"], effect["changes"][name]["after"])
         for name, label in (("first_pass_yield", "yield"), ("run_vs_standard", "run vs std"),
                             ("setup_mean", "setup min"),
                             ("defects_per_unit", "defects/unit"))],
        before=f"rev {effect['before']['revision']}", after=f"rev {effect['after']['revision']}"))}
        for effect in feedback["change_effects"]]
    return {
        "plants": per_plant, "effects": effects,
        "scrap": mark_safe(charts.pareto_chart(
            "Scrap by reason", [(bar["code"], bar["quantity"], bar["cumulative_share"])
                                for bar in feedback["scrap_by_reason"]])),
    }
