"""Faust codecs: orjson for table values and keys (fast, and never pickle)."""

from typing import Any

import orjson
from faust.serializers import codecs


class OrjsonCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register() -> str:
    """Make the codec known to Faust (idempotent) and return its name."""
    if "orjson" not in codecs.codecs:
        codecs.register("orjson", OrjsonCodec())
    return "orjson"
