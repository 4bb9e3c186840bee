from django.contrib import admin
from django.http import Http404
from django.shortcuts import render

from .problems import PROBLEM_TYPES


def problem_types(request, slug: str | None = None):
    """Human-readable documentation of each problem `type` URI the API answers with."""
    if slug is not None and slug not in PROBLEM_TYPES:
        raise Http404(slug)
    types = [{"slug": k, "title": t, "status": s} for k, (t, s) in PROBLEM_TYPES.items()]
    # The admin's frame (site name, navigation), as on every other page of Thread.
    return render(request, "api/problem_types.html", {
        **admin.site.each_context(request), "title": "Problem types", "types": types,
        "selected": slug})
