"""
The machine-readable contract: the OpenAPI document of REST (drf-spectacular) and the
AsyncAPI document of the sockets, built from the same serializers, so one definition of
a Post describes both (docs/protocol.md says which document is normative).
"""
