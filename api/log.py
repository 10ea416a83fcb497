"""Transparency log blueprint: the signed checkpoint, the verifier key, inclusion and consistency proofs.

Public: a verifier needs no key, and trusts none of these answers: it checks them against the
verifier key it obtained out of band (RFC 9162 proofs, C2SP signed notes).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from api.findings import parse_query
from services.log_tiles import LogTiles, parse_tile
from services.transparency import TransparencyLog

_SIZE = validate.Range(min=1, max=2**62)


class InclusionQuery(Schema):
    """The parameters of an inclusion proof."""

    class Meta:
        unknown = RAISE

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    tree_size = fields.Integer(required=True, strict=False, validate=_SIZE)


class ConsistencyQuery(Schema):
    """The parameters of a consistency proof (``from`` is a keyword in Python)."""

    class Meta:
        unknown = RAISE

    old = fields.Integer(required=True, data_key="from", validate=_SIZE)
    new = fields.Integer(required=True, data_key="to", validate=_SIZE)


class InclusionProof(Schema):
    """An RFC 9162 inclusion proof of an event's leaf (leaf data: the 32 bytes of the event's hash)."""

    leaf_index = fields.Integer(required=True, metadata={"description": "the event's leaf: on SQLite its position - 1, on Kafka the place the sequencer gave it"})
    tree_size = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True, metadata={"description": "base64 (standard), leaf side first"})


class ConsistencyProof(Schema):
    """An RFC 9162 consistency proof between two tree sizes."""

    from_size = fields.Integer(required=True, data_key="from")
    to_size = fields.Integer(required=True, data_key="to")
    hashes = fields.List(fields.String(), required=True, metadata={"description": "base64 (standard)"})


def create_blueprint(transparency: TransparencyLog) -> Blueprint:
    """The log's routes over ``transparency``."""
    blueprint = Blueprint("log", __name__)

    @blueprint.get("/v1/log/checkpoint")
    def checkpoint():
        """The latest signed checkpoint.
        ---
        get:
          summary: The latest signed checkpoint of the log (C2SP tlog-checkpoint in a C2SP signed-note)
          description: >
            Three lines (the log's origin, the tree size, the base64 RFC 9162 root hash), a blank line and
            an Ed25519 signature line, verifiable with the key of `GET /v1/log/key`. A new one is signed at
            least every 10 seconds while events arrive; every tree size once published stays provable.
          tags: [transparency]
          responses:
            200:
              description: The signed note
              content:
                text/plain:
                  schema: {type: string}
        """
        # C2SP tlog-tiles: the checkpoint is mutable, so no caching beyond a few seconds
        return Response(transparency.latest_checkpoint(), mimetype="text/plain",
                        headers={"Cache-Control": "public, max-age=5"})

    @blueprint.get("/v1/log/key")
    def key():
        """The log's verifier key.
        ---
        get:
          summary: The note verifier key of the checkpoints, `<name>+<hex key id>+<base64 key>` (Go's sumdb/note)
          description: >
            Obtain it once, out of band if you can (the README, a printed certificate), and keep it: a
            verifier that fetches the key with every checkpoint trusts the server after all.
          tags: [transparency]
          responses:
            200:
              description: The verifier key, on one line
              content:
                text/plain:
                  schema: {type: string}
        """
        return Response(transparency.verifier_key() + "\n", mimetype="text/plain")

    @blueprint.get("/v1/log/proof/inclusion")
    def inclusion():
        """An event's inclusion proof.
        ---
        get:
          summary: RFC 9162 inclusion proof of an event in the tree of a given size
          description: >
            The leaf is SHA-256(0x00 || the 32 bytes of the event's `hash`); `hashes` is the audit path
            from the leaf to the root of the tree of `tree_size` leaves (that of a signed checkpoint).
          tags: [transparency]
          parameters:
            - {name: event_id, in: query, required: true, schema: {type: string}}
            - {name: tree_size, in: query, required: true, schema: {type: integer, minimum: 1}}
          responses:
            200:
              description: The proof
              content:
                application/json:
                  schema: InclusionProof
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        query = parse_query(InclusionQuery(), request.args)
        return jsonify(transparency.inclusion_proof(query["event_id"], query["tree_size"]))

    @blueprint.get("/v1/log/proof/consistency")
    def consistency():
        """A consistency proof.
        ---
        get:
          summary: RFC 9162 consistency proof that the tree of `from` leaves is a prefix of the tree of `to`
          tags: [transparency]
          parameters:
            - {name: from, in: query, required: true, schema: {type: integer, minimum: 1}}
            - {name: to, in: query, required: true, schema: {type: integer, minimum: 1}}
          responses:
            200:
              description: The proof
              content:
                application/json:
                  schema: ConsistencyProof
            422: {$ref: "#/components/responses/Invalid"}
        """
        query = parse_query(ConsistencyQuery(), request.args)
        return jsonify(transparency.consistency_proof(query["old"], query["new"]))

    add_tile_routes(blueprint, LogTiles(transparency.tree))
    return blueprint


#: tile indexes of up to this many path elements (999,999,999 tiles: 255 billion leaves)
_TILE_INDEX_ELEMENTS = 3

_TILE_DOC = """{summary}
---
get:
  summary: {summary}
  description: >
    C2SP tlog-tiles with the prefix /v1/log (the checkpoint is /v1/log/checkpoint). {what} The index is
    split into 3-digit path elements, all but the last starting with x (1234067 is x001/x234/067); a
    partial tile (.p/W, W from 1 to 255) is the right edge of a tree whose size a checkpoint names.
    Full tiles never change.
  tags: [transparency]
  parameters:
{parameters}
  responses:
    200:
      description: The tile's bytes
      content:
        application/octet-stream: {{}}
    404: {{$ref: "#/components/responses/NotFound"}}
"""
_HASHES = ("A tile of the log's Merkle tree",
           "Hash i of tile N at level L is MTH(D[(N*256+i)*256**L : (N*256+i+1)*256**L]), 32 bytes each, concatenated.")
_ENTRIES = ("An entry bundle of the log",
            "Each entry is an event's 32-byte hash (the leaf data) after its length as a big-endian uint16.")


def add_tile_routes(blueprint: Blueprint, tiles: LogTiles) -> None:
    """One route per shape of tile path (hashes or entries, 1 to 3 index elements, full or partial), each
    documented for OpenAPI; all of them read the path the same way (``parse_tile``)."""
    for entries in (False, True):
        for elements in range(1, _TILE_INDEX_ELEMENTS + 1):
            for partial in (False, True):
                names = [f"x{k}" for k in range(1, elements)] + ["n"]
                rule = ("/v1/log/tile/" + ("entries/" if entries else "<level>/")
                        + "/".join(f"<{name}>" for name in names) + (".p/<width>" if partial else ""))
                parameters = ([] if entries else ["level"]) + names + (["width"] if partial else [])
                endpoint = f"tile_{'entries' if entries else 'hashes'}_{elements}{'_partial' if partial else ''}"
                blueprint.add_url_rule(rule, endpoint, _tile_view(tiles, entries, endpoint, parameters))


def _tile_view(tiles: LogTiles, entries: bool, name: str, parameters: list[str]):
    def view(**_parts):
        tail = request.path.removeprefix("/v1/log/tile/").split("/")
        level = None if entries else tail.pop(0)
        if entries:
            tail.pop(0)
        width = None
        if len(tail) >= 2 and tail[-2].endswith(".p"):
            width = tail.pop()
            tail[-1] = tail[-1].removesuffix(".p")
        address = parse_tile(level, tail, width)
        body = tiles.entries(address) if entries else tiles.hashes(address)
        cache = "public, max-age=31536000, immutable" if address.width == 256 else "public, max-age=5"
        return Response(body, mimetype="application/octet-stream", headers={"Cache-Control": cache})

    summary, what = _ENTRIES if entries else _HASHES
    view.__name__ = name
    view.__doc__ = _TILE_DOC.format(summary=summary, what=what, parameters="\n".join(
        f"    - {{name: {parameter}, in: path, required: true, schema: {{type: string}}}}" for parameter in parameters))
    return view
