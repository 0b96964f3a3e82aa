import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.keygen import KEY_LENGTH, key_timestamp_ms, new_key

URL_SAFE = re.compile(r"^[0-9a-hjkmnp-tv-z]+$")


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=2000))
def test_keys_are_unique_and_increasing(count: int) -> None:
    keys = [new_key() for _ in range(count)]
    assert len(set(keys)) == count
    assert keys == sorted(keys)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=50))
def test_keys_are_url_safe_and_fixed_length(count: int) -> None:
    for _ in range(count):
        key = new_key()
        assert len(key) == KEY_LENGTH
        assert URL_SAFE.match(key)


def test_key_carries_its_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    key = new_key()
    after = time.time_ns() // 1_000_000
    assert before <= key_timestamp_ms(key) <= after + 1


def test_keys_made_later_sort_later() -> None:
    first = new_key()
    time.sleep(0.002)
    assert new_key() > first


def test_keys_are_unique_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(lambda _: [new_key() for _ in range(500)], range(8)))
    keys = [key for batch in batches for key in batch]
    assert len(set(keys)) == len(keys)
