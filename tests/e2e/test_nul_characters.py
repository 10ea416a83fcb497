"""A NUL character (U+0000) in any id of a path or any query argument, on every operation of the API,
on both backends: PostgreSQL refuses text holding one, so it must never reach a query. Every answer
is one the operation documents (the checking client), never a 500."""
from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import yaml

from tests.answers import DOCUMENT
from tests.conftest import bearer

NUL = "\x00"


def _operations() -> list[tuple[str, str, list[dict]]]:
    document = yaml.safe_load(DOCUMENT.read_text())
    found = []
    for path, operations in document["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if method != "parameters":
                found.append((method, path, shared + operation.get("parameters", [])))
    return found


OPERATIONS = _operations()
WITH_PATH_IDS = [(m, p, params) for m, p, params in OPERATIONS if any(x.get("in") == "path" for x in params)]
WITH_QUERIES = [(m, p, params) for m, p, params in OPERATIONS if any(x.get("in") == "query" for x in params)]


def _filled(path: str, parameters: list[dict], nul_in: str | None) -> str:
    """``path`` with every path parameter set, the one named ``nul_in`` holding a NUL (percent-encoded)."""
    for parameter in parameters:
        if parameter.get("in") == "path":
            value = f"x{NUL}y" if parameter["name"] == nul_in else "1"
            path = path.replace("{" + parameter["name"] + "}", quote(value, safe=""))
    return path


def _ask(client, method: str, url: str, key: str, **kwargs):
    return client.open(url, method=method.upper(), headers=bearer(key), **kwargs)


@pytest.mark.parametrize("method,path,parameters", WITH_PATH_IDS, ids=[f"{m} {p}" for m, p, _ in WITH_PATH_IDS])
def test_a_nul_in_an_id_of_the_path_names_nothing(client, admin_key, method, path, parameters):
    for parameter in (x for x in parameters if x.get("in") == "path"):
        response = _ask(client, method, _filled(path, parameters, parameter["name"]), admin_key, json={})
        assert 400 <= response.status_code < 500, (parameter["name"], response.get_data(as_text=True)[:300])  # names nothing
        if path.startswith(("/v1/", "/epcis/", "/id/")):  # the JSON routes' miss (the pages answer in HTML)
            assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("method,path,parameters", WITH_QUERIES, ids=[f"{m} {p}" for m, p, _ in WITH_QUERIES])
def test_a_nul_in_a_query_argument_is_invalid_or_matches_nothing(client, admin_key, method, path, parameters):
    url = _filled(path, parameters, None)
    for parameter in (x for x in parameters if x.get("in") == "query"):
        response = _ask(client, method, url, admin_key, query_string={parameter["name"]: f"x{NUL}y"}, json={})
        # the pages and EPCIS may also take it as a value matching nothing (or a language they do not speak)
        assert response.status_code < 500, (parameter["name"], response.get_data(as_text=True)[:300])
        if path.startswith("/v1/"):
            assert response.status_code == 422
            assert response.get_json()["error"]["details"] == {parameter["name"]: ["Must not contain a NUL character (U+0000)."]}


def _cursor(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize("url", [f"/v1/findings?after={_cursor([NUL, 'a', 'b'])}",
                                 f"/v1/products/ring-1/timeline?after={_cursor({'k': NUL})}"])
def test_a_cursor_holding_a_nul_is_not_a_cursor_of_this_api(client, admin_key, url):
    response = client.get(url, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"after": ["Not a cursor this API gave."]} \
        or "after" in response.get_json()["error"]["details"]
