"""On PYTHONPATH (the bench's second service instance), this makes the tracing and error-reporting packages
unimportable, as if they were not installed: what the service costs with both off is measured against it."""

import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

BLOCKED = ("opentelemetry", "sentry_sdk")


class TracingPackagesAbsent:
    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the bench)", name=name)
        return None


sys.meta_path.insert(0, TracingPackagesAbsent())
