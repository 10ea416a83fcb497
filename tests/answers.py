"""Every answer a test receives is checked against ``openapi.yaml``: drift between the code and its
published contract fails the test that saw it.

The checker validates the status, the content type, the body (and any documented header) of an
answer against the operation the document gives for its method and path, with openapi-core. Objects
are closed: a field the document does not name is drift too (``additional_properties_default_policy
= "forbid"``), so the document lists every field a client may get. An answer to a path or method the
document does not have (a 404 of an unknown URL, a 405) has no operation to check against and is
not recorded. ``tests/conftest.py`` hands the checker every answer of the Flask test client and of
requests (the e2e tests that talk to real servers).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIResponse
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import json_loads, plain_loads
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.yaml"
#: hosts whose answers are checked: the servers the tests start (never anything else)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class AnswerDrift(AssertionError):
    """An answer that its operation in openapi.yaml does not allow."""


@dataclass(frozen=True)
class Answer:
    """An answer checked against the document: its operation and status."""

    method: str
    path: str  # the document's path template, e.g. /v1/lots/{lot_id}
    status: int
    content_type: str


@dataclass
class Question:
    """What an answer answered, as openapi-core needs it to find the operation (never the body: the
    server has read it already, and the answer's check does not need it)."""

    method: str
    host_url: str
    path: str
    parameters: RequestParameters = field(default_factory=RequestParameters)
    body: bytes | None = None
    content_type: str = "application/octet-stream"


class AnswerChecker:
    """Checks answers against the operations of an OpenAPI document and tells listeners what it checked."""

    def __init__(self, document: Path = DOCUMENT):
        self.document = document
        self.listeners: list[Callable[[Answer], None]] = []
        self._lock = threading.Lock()  # the e2e tests post from several threads at once

    @cached_property
    def openapi(self) -> OpenAPI:
        """The document, read once on the first answer (so tests that get none never load it)."""
        config = Config(additional_properties_default_policy="forbid",
                        # text, as for text/plain; JSON-LD (EPCIS documents) and RFC 7807 problems are JSON
                        extra_media_type_deserializers={"text/csv": plain_loads, "application/ld+json": json_loads,
                                                        "application/problem+json": json_loads})
        return OpenAPI.from_file_path(str(self.document), config=config)

    def check(self, request: Question, response: Any) -> Answer | None:
        """Check one answer (an openapi-core response adapter); AnswerDrift if the document forbids it."""
        method = request.method.lower()
        if method == "head":  # no body to check, by definition
            return None
        with self._lock:
            try:
                found = APICallPathFinder(self.openapi.spec).find(method, urljoin(request.host_url, request.path))
            except PathError:
                return None
            errors = list(self.openapi.iter_response_errors(request, response))
        template = found.path_result.pattern
        if errors:
            body = response.data[:500].decode("utf-8", "replace")
            raise AnswerDrift(
                f"{method.upper()} {request.path} answered {response.status_code} ({response.content_type}), which "
                f"`{method} {template}` in openapi.yaml does not allow:\n"
                + "\n".join(f"  - {_describe(error)}" for error in errors) + f"\nbody: {body}")
        answer = Answer(method, template, response.status_code, response.content_type.split(";")[0].strip())
        for listener in list(self.listeners):
            listener(answer)
        return answer

    def check_werkzeug(self, response: Any) -> Answer | None:
        """Check an answer of the Flask test client."""
        asked = response.request
        return self.check(Question(asked.method.lower(), asked.host_url, asked.root_path + asked.path),
                          WerkzeugOpenAPIResponse(response))

    def check_requests(self, response: requests.Response) -> Answer | None:
        """Check an answer requests got from a local server."""
        url = urlsplit(response.request.url)
        if url.hostname not in LOCAL_HOSTS:
            return None
        return self.check(Question(response.request.method.lower(), f"{url.scheme}://{url.netloc}/", url.path),
                          RequestsOpenAPIResponse(response))


def _describe(error: Exception) -> str:
    """An openapi-core error, told by the schema errors behind it (where in the body, and what)."""
    schema_errors = getattr(error.__cause__, "schema_errors", None) or ()
    if not schema_errors:
        return f"{type(error).__name__}: {_short(str(error))}"
    return type(error).__name__ + "".join(
        f"\n      {'/'.join(str(part) for part in e.absolute_path) or '(body)'}: {_short(e.message)}"
        for e in schema_errors)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def checking_client_class(checker: AnswerChecker) -> type[FlaskClient]:
    """A Flask test client class whose every answer goes through ``checker``."""

    class CheckedClient(FlaskClient):
        """The Flask test client, checking each answer against openapi.yaml."""

        def open(self, *args: Any, **kwargs: Any):
            response = super().open(*args, **kwargs)
            checker.check_werkzeug(response)
            return response

    return CheckedClient


def checking_send(checker: AnswerChecker, send: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
    """``requests.Session.send`` that checks each answer of a local server against openapi.yaml."""

    def checked_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(session, request, **kwargs)
        if not kwargs.get("stream"):
            checker.check_requests(response)
        return response

    return checked_send
