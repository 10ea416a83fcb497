"""Flask's JSON on orjson: fast, and able to embed pre-serialised event bodies (``orjson.Fragment``)."""
from __future__ import annotations

import decimal
from typing import Any

import orjson
from flask.json.provider import JSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_bytes(obj: Any) -> bytes:
    """``obj`` as JSON bytes, the way every answer is serialised."""
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)


class OrjsonProvider(JSONProvider):
    """JSON for requests and responses; money stays a decimal string, keys keep their order."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise to a string."""
        return dumps_bytes(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a request body (orjson refuses NaN and Infinity, as JSON does)."""
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        """A JSON response of ``args``/``kwargs`` like ``jsonify``."""
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps_bytes(obj), mimetype="application/json")
