"""How a body goes over the air: GSM-7 when every character is in the GSM 03.38 alphabet (its extension table's
characters, `{ } [ ] ~ \\ | ^ €` and the form feed, take two septets: an escape and the character), else UCS-2
(UTF-16 code units). The GSM 03.38 table is the gsm0338 package's codec; this module only counts the parts.

A message fits one SMS up to 160 septets (GSM-7) or 70 code units (UCS-2); longer, it is sent concatenated, and
each part loses room to its user-data header: 153 septets or 67 code units. A character is never split across
parts (an escape and its character, a surrogate pair), as gateways split them, so a part may end a unit short.
"""

from dataclasses import dataclass

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM_CODEC = "gsm03.38"
GSM_7 = "GSM-7"
UCS_2 = "UCS-2"
# (units in a single message, units per part of a concatenated one)
PART_SIZES = {GSM_7: (160, 153), UCS_2: (70, 67)}


@dataclass(frozen=True)
class Segmentation:
    encoding: str
    segments: int


def segmentation(body: str) -> Segmentation:
    """The encoding `body` is sent in and how many SMS parts it takes."""
    try:
        units = [len(character.encode(GSM_CODEC)) for character in body]
        encoding = GSM_7
    except UnicodeEncodeError:
        units = [len(character.encode("utf-16-le")) // 2 for character in body]
        encoding = UCS_2
    return Segmentation(encoding=encoding, segments=_parts(units, *PART_SIZES[encoding]))


def _parts(units: list[int], single: int, per_part: int) -> int:
    if sum(units) <= single:
        return 1
    parts, room = 1, per_part
    for width in units:
        if width > room:
            parts, room = parts + 1, per_part
        room -= width
    return parts
