"""Faust codecs: orjson for table values and keys (fast, and never pickle), and the
schema of kohta's topics, whose keys and values are bytes."""

from typing import Any

import faust
import orjson
from faust.serializers import codecs
from faust.types import AppT
from faust.types.tuples import Message


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


class RawSchema(faust.Schema):
    """Keys and values handed over as the bytes that came, without Faust's registry.

    kohta decodes and validates values itself, so every topic is raw. Faust's
    registry would still run per message (codec lookup, payload checks, settings
    reads): ``python benchmarks/faust_read_path.py`` times the decode at 4.07 µs a
    message that way and 0.69 µs with this schema and kohta's app. Sending still goes
    through the registry, as ``raw``.

    >>> schema = RawSchema()
    >>> message = Message("t", 0, 7, 0.0, 0, None, b"web", b'{"x": 1}', None)
    >>> schema.loads_key(None, message), schema.loads_value(None, message)
    (b'web', b'{"x": 1}')
    """

    def __init__(self) -> None:
        super().__init__(key_serializer="raw", value_serializer="raw")

    def loads_key(self, app: AppT, message: Message, **_: Any) -> Any:
        return message.key

    def loads_value(self, app: AppT, message: Message, **_: Any) -> Any:
        return message.value
