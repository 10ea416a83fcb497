"""openapi.yaml is generated from the code; this test fails when it drifts."""
from __future__ import annotations

from pathlib import Path

import yaml

from api.findings import KINDS
from api.openapi import render_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_yaml_matches_the_code(app):
    committed = (ROOT / "openapi.yaml").read_text()
    assert committed == render_yaml(app), "openapi.yaml is stale: run `make openapi`"


def test_every_route_is_documented(app):
    document = yaml.safe_load(render_yaml(app))
    rules = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert rules == set(document["paths"])
    for path, operations in document["paths"].items():
        assert operations, f"{path} has no documented operation"
        for operation in operations.values():
            assert operation["responses"], path
    assert "Data_LotsMerged" in document["components"]["schemas"]


def test_the_findings_kind_filter_documents_every_kind_the_api_accepts(app):
    """The ``kind`` filter of ``GET /v1/findings`` is written by hand in its docstring: every kind a finding
    can have (the checks' and the payouts') is in it, and nothing else."""
    document = yaml.safe_load(render_yaml(app))
    [kind] = [p for p in document["paths"]["/v1/findings"]["get"]["parameters"] if p["name"] == "kind"]
    assert kind["schema"]["enum"] == list(KINDS)
