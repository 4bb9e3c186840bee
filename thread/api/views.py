from django.contrib import admin
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views import defaults

from .problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, problem_body


def problem_types(request, slug: str | None = None):
    """Human-readable documentation of each problem `type` URI the API answers with."""
    if slug is not None and slug not in PROBLEM_TYPES:
        raise Http404(slug)
    types = [{"slug": k, "title": t, "status": s} for k, (t, s) in PROBLEM_TYPES.items()]
    # The admin's frame (site name, navigation), as on every other page of Thread.
    return render(request, "api/problem_types.html", {
        **admin.site.each_context(request), "title": "Problem types", "types": types,
        "selected": slug})


def _api_problem(slug: str, detail: str) -> JsonResponse:
    body = problem_body(slug, detail)
    return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def not_found(request, exception=None):
    """Django's 404 (a URL no route matches): problem details under /api/, the page elsewhere."""
    if request.path.startswith("/api/"):
        return _api_problem("not-found", f"No resource at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's 500: problem details under /api/ (a client reads JSON), the page elsewhere."""
    if request.path.startswith("/api/"):
        return _api_problem("server-error", "Unexpected error; nothing was written. A push may "
                                            "be retried with the same Idempotency-Key.")
    return defaults.server_error(request)
