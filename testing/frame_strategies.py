"""
Hypothesis strategies for the client frames of the AsyncAPI document. The schemas use a
small part of JSON Schema (const, enum, type, pattern, minimum, required, properties);
hypothesis-jsonschema would read them, but its last release no longer runs on current
Hypothesis, so this reads that part, and fails loudly on anything else.
"""

from hypothesis import strategies as st

SCALARS = {
    "integer": lambda schema: st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum")),
    "number": lambda schema: st.floats(allow_nan=False, allow_infinity=False),
    "boolean": lambda schema: st.booleans(),
    "null": lambda schema: st.none(),
}


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values valid against ``schema`` (the subset above)."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": one}) for one in kind])
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 40))
    if kind in SCALARS:
        return SCALARS[kind](schema)
    if kind == "object":
        return _object(schema)
    raise ValueError(f"not in the subset this reads: {schema}")


def _object(schema: dict) -> st.SearchStrategy:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: from_schema(sub) for name, sub in properties.items() if name in required}
    optional = {name: from_schema(sub) for name, sub in properties.items() if name not in required}
    extra = schema.get("additionalProperties", True)
    if isinstance(extra, dict):
        return st.fixed_dictionaries(fixed, optional=optional).flatmap(
            lambda base: st.dictionaries(st.text(max_size=20), from_schema(extra), max_size=5).map(
                lambda more: {**more, **base}
            )
        )
    return st.fixed_dictionaries(fixed, optional=optional)
