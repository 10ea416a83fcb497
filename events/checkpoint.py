"""The C2SP ``tlog-checkpoint`` body: origin, tree size, root hash (base64), each line ending in a newline."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin (its unique name), its size and its RFC 9162 root hash."""

    origin: str
    tree_size: int
    root: bytes

    def body(self) -> str:
        """The note text to sign."""
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        """Read a checkpoint's text (extension lines after the root are allowed and ignored)."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise ValueError("a checkpoint has an origin, a size and a root hash, each on a line")
        origin, size, root = lines[:3]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise ValueError("malformed checkpoint origin or size")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise ValueError("malformed checkpoint root hash") from None
        if len(digest) != 32:
            raise ValueError("a checkpoint's root hash has 32 bytes")
        return cls(origin, int(size), digest)
