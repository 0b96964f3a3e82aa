"""The one retry schedule of background work that a remote party refused (a gateway, a callback receiver)."""

import random


def exponential_backoff(*, failures: int, base: float, cap: float) -> float:
    """Seconds before the next try after `failures` earlier failed tries beyond the first: `base` doubled for each,
    plus up to one `base` of jitter so a crowd of retries spreads out, never more than `cap`."""
    jitter = random.uniform(0, base)  # noqa: S311 - spreads retries; not a secret
    return min(base * 2 ** max(failures, 0) + jitter, cap)
