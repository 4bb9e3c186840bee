from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """Cursor pagination on the primary key: stable while systems page through a changing list."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 500
