"""The one request parser: JSON through orjson (the image upload alone adds multipart on its own view)."""

from drf_orjson_renderer.parsers import ORJSONParser
from drf_orjson_renderer.renderers import ORJSONRenderer


class JSONParser(ORJSONParser):
    """orjson's parser, naming its renderer as DRF's JSONParser does: the browsable API fills its raw-data form
    with the serializer's initial values (the default currency, ...) only when the parser names one."""

    renderer_class = ORJSONRenderer
