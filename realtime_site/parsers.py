"""
JSONParser: DRF's, with JSON nested past Python's recursion limit a 400 like any other
malformed body (DRF's own catches ValueError only, and the RecursionError was a 500).
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error


# What the API parses: DRF's defaults, with the JSON parser above.
API_PARSERS = (JSONParser, parsers.FormParser, parsers.MultiPartParser)
