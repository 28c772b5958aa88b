"""OpenAPI post-processing: make the generated schema describe what the API really answers.

drf-standardized-errors documents each endpoint's 400 body with an enum of field names and codes
per field. The API also answers codes that enumeration cannot know in advance (nested attributes
such as ``ids.0``, lookup failures, ``non_field_errors`` from services, the import's ``line_N``),
so a 400 body is documented as the one validation-error shape with ``code`` and ``attr`` as
strings; the codes the API itself defines are listed in the description.
"""

from __future__ import annotations

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
