"""Trigram indexes for the list's `?search=` on PostgreSQL (no other database has them; SQLite scans).

Django turns `name__icontains=x` into `UPPER("name"::text) LIKE UPPER('%x%')` on PostgreSQL: a B-tree cannot
serve a leading wildcard, a GIN trigram index on exactly that expression can. The search ORs name,
description and sku, so each gets one and the planner combines them with a BitmapOr. They are partial on
live rows like the other list indexes. They live outside the model state (Django has no portable way to
declare them), so they are created here and dropped by the reverse.
"""

from django.db import migrations

COLUMNS = ("name", "description", "sku")


def create_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS product_live_{column}_trgm_idx ON products_product "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops) WHERE deleted_at IS NULL"
        )


def drop_trigram_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS product_live_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False)]
