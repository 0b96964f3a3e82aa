"""Files written for a transaction: gone again when it rolls back, kept once it commits."""

import logging
import weakref

from django.core.files.storage import Storage
from django.db import transaction

logger = logging.getLogger(__name__)


def delete_on_rollback(storage: Storage, name: str) -> None:
    """Delete `name` from `storage` if the current transaction (or the savepoint this runs in) rolls back.

    Django has `on_commit` and no rollback hook, but a rollback drops the commit callbacks it discards: the
    callback registered here is then freed unrun, and its finalizer deletes the file. Run at once outside a
    transaction, it keeps the file.
    """
    kept: list[bool] = []

    def keep() -> None:
        kept.append(True)

    weakref.finalize(keep, _delete_unless_kept, storage, name, kept)
    transaction.on_commit(keep)


def _delete_unless_kept(storage: Storage, name: str, kept: list[bool]) -> None:
    if kept:
        return
    try:
        storage.delete(name)
    except Exception:  # the storage's own errors (S3 unreachable, ...): the orphan is logged, the rollback goes on
        logger.warning("Could not delete %s after its transaction rolled back", name, exc_info=True)
    else:
        logger.info("Deleted %s: its transaction rolled back", name)
