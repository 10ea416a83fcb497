"""The OpenAPI document, generated from the routes' docstrings and the marshmallow schemas."""
from __future__ import annotations

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

from api import schemas
from api.nul_guard import NulGuardPlugin
from events.catalogue import CATALOGUE
from services.rights import rights_table_markdown

_ERRORS = {
    "Unauthenticated": "No API key, or an unknown or revoked one",
    "Forbidden": "The key may not do this",
    "NotFound": "No such resource",
    "Conflict": "An event_id was reused for a different event, or a flag_id for another risk",
    "TooLarge": "More than 1,000 events or 5 MB",
    "Invalid": "Malformed: details maps the path of each wrong field to its errors",
    "Unavailable": "A backend is unavailable; retry after Retry-After seconds",
}


class RightsTablePlugin(BasePlugin):
    """Appends the rights of each role (``services.rights``, the table capture enforces) to the
    description of ``POST /v1/events``, so the document cannot drift from the code."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Add the table to the capture operation."""
        if path == "/v1/events" and operations and "post" in operations:
            post = operations["post"]
            post["description"] = (post.get("description", "").rstrip() + "\n\n"
                                   "Who may record what (a key records only for its own organisation; a 403 "
                                   "names the rule), and what the read models refuse, with the finding it "
                                   "raises:\n\n" + rights_table_markdown() + "\n")


def build_spec(app: Flask) -> APISpec:
    """An OpenAPI 3 document of every route of ``app``."""
    spec = APISpec(
        title="Oretrail API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin(), RightsTablePlugin(), NulGuardPlugin()],
        info={"description": "Provenance and impact data for responsible artisanal gold: capture events, "
                             "pull per-product histories."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.ErrorResponse)
    for name, description in _ERRORS.items():
        spec.components.response(name, {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        })
    for type_name, schema_class in sorted(CATALOGUE.items()):
        spec.components.schema(_component_name(type_name), schema=schema_class)
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            view = app.view_functions[rule.endpoint]
            if rule.endpoint == "static" or not (view.__doc__ or "").count("---"):
                continue
            spec.path(view=view, app=app)
    return spec


def _component_name(type_name: str) -> str:
    return "Data_" + "".join(part.capitalize() for part in type_name.replace(".", "_").split("_"))


def render_yaml(app: Flask) -> str:
    """The document as YAML, as committed in ``openapi.yaml``."""
    return build_spec(app).to_yaml()
