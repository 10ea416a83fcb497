"""The HTTP API: the Flask app factory, one blueprint per audience, the OpenAPI document."""
