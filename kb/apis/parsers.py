"""Request parsers of the API: bounded in size and depth, refusing text that cannot be stored.

Django bounds ``request.body`` and form fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``), but DRF's JSON
parser reads the stream itself, past that limit. Here every JSON body is read up to
``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (413 beyond), nested at most ``MAX_JSON_DEPTH`` levels, and
refused with a 400 naming the problem when a string holds NUL or a lone surrogate (which the
database would refuse with a server error). Bodies of other types are bounded by
``config.middleware.RequestSizeLimitMiddleware`` before any parser runs.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from kb.validators import unstorable_character

#: Our request bodies are flat objects with lists of codes; nothing legitimate goes deeper.
MAX_JSON_DEPTH = 16


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _check_structure(data) -> None:
    """Iteratively (no recursion to exhaust): depth and storable strings, keys included."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if (bad := unstorable_character(value)) is not None:
                raise exceptions.ParseError(
                    f"JSON parse error - a string contains a character that cannot be stored ({bad})."
                )
            continue
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    stack.append((key, depth))
                stack.append((item, depth + 1))


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        _check_structure(data)
        return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
