"""OpenAPI post-processing: make the generated schema describe what the API really answers.

drf-standardized-errors documents each endpoint's 400 body with an enum of field names and codes
per field. The API also answers codes that enumeration cannot know in advance (nested attributes
such as ``ids.0``, lookup failures, ``non_field_errors`` from services, the import's ``line_N``),
so a 400 body is documented as the one validation-error shape with ``code`` and ``attr`` as
strings; the codes the API itself defines are listed in the description.
"""

from __future__ import annotations

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from rest_framework.permissions import AllowAny


class AutoSchema(StandardizedErrorsAutoSchema):
    """drf-standardized-errors' schema, with 403 documented wherever a signed-in caller may get it.

    The library leaves 403 out of views whose only permission is ``IsAuthenticated`` (DRF then
    answers 401 to anonymous callers). Here the services decide who acts for whom: a focal point
    changing another State's entry, acting on an engagement that is not theirs or reading a need's
    candidates gets a 403 from them, so every operation not open to anyone documents it."""

    def _should_add_http403_error_response(self) -> bool:
        permissions = self.view.get_permissions()
        open_to_anyone = len(permissions) == 1 and type(permissions[0]) is AllowAny
        return bool(permissions) and not open_to_anyone


#: E-mail properties that may be blank (an optional contact address).
BLANK_EMAILS = ("contact_email",)

VALIDATION_ERROR_RESPONSE = {
    "type": "object",
    "description": (
        "A validation error: one item per problem. `attr` names the field (`field.0` for an item of "
        "a list, `line_N` for a line of an import, `non_field_errors` for the whole request)."
    ),
    "properties": {
        "type": {"type": "string", "enum": ["validation_error", "client_error"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                    "attr": {"type": "string", "nullable": True},
                },
                "required": ["code", "detail", "attr"],
            },
        },
    },
    "required": ["type", "errors"],
}


def postprocess_validation_errors(result, generator, request, public):
    """Point every endpoint's 400 at one truthful validation-error component."""
    schemas = result.get("components", {}).get("schemas", {})
    schemas["ValidationErrorResponse"] = VALIDATION_ERROR_RESPONSE
    ref = {"$ref": "#/components/schemas/ValidationErrorResponse"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            response = operation.get("responses", {}).get("400")
            if not response:
                continue
            for media in response.get("content", {}).values():
                old = media.get("schema", {}).get("$ref", "")
                media["schema"] = ref
                name = old.rsplit("/", 1)[-1]
                if name.endswith("ErrorResponse400"):
                    schemas.pop(name, None)
    # Optional e-mail fields hold "" when unset: either an address or the empty string.
    for component in schemas.values():
        for name, prop in component.get("properties", {}).items():
            if prop.get("format") == "email" and name in BLANK_EMAILS:
                fmt = {key: prop.pop(key) for key in ("type", "format", "maxLength") if key in prop}
                prop["anyOf"] = [fmt, {"type": "string", "enum": [""]}]
    # Remove the per-endpoint error item components nothing refers to any more.
    text = repr(result)
    for name in [n for n in schemas if n.endswith("ValidationError") or n.endswith("ErrorComponent")]:
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return result
