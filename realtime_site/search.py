"""
The ``?search=`` of every list, bounded: each term becomes SQL conditions, and
thousands of terms overflow SQLite's expression depth (a 500) or make PostgreSQL
work hard for nothing. Past MAX_SEARCH_TERMS terms or MAX_SEARCH_CHARS characters the
request gets a 400 naming the limit.
"""

from rest_framework import filters
from rest_framework.exceptions import ValidationError

MAX_SEARCH_TERMS = 10
MAX_SEARCH_CHARS = 200


class BoundedSearchFilter(filters.SearchFilter):
    def get_search_terms(self, request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if len(raw) > MAX_SEARCH_CHARS:
            raise ValidationError({self.search_param: f"At most {MAX_SEARCH_CHARS} characters."})
        terms = super().get_search_terms(request)
        if len(terms) > MAX_SEARCH_TERMS:
            raise ValidationError({self.search_param: f"At most {MAX_SEARCH_TERMS} search terms."})
        return terms
