"""Query strings under /api/ that PostgreSQL cannot use: refused before any view runs."""

from __future__ import annotations

from django.http import JsonResponse

from thread.errors import ErrorItem

from .problems import PROBLEM_CONTENT_TYPE, problem_body


class RefuseUnstorableQueries:
    """A NUL character in a query value (`?search=a%00b`) is a 400 naming the parameter: a
    database text cannot hold it, and a filter would otherwise fail or quietly match nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\u0000")
                    detail = "Query values may not contain NUL (\\u0000)."
                    body = problem_body("validation-error", detail,
                                        [ErrorItem(f"/{shown}", "nul_character", detail)])
                    return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)
