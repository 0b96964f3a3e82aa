from django.db import migrations, models


class Migration(migrations.Migration):
    """Versions become integers that only grow (apps.core.cache.versioned), so a copy kept in Redis can be raised
    to a newer one and never lowered. The old versions are dropped: every entry cached under one stops matching."""

    dependencies = [
        ("core", "0003_cache_version"),
    ]

    operations = [
        migrations.RemoveField(model_name="cacheversion", name="version"),
        migrations.AddField(
            model_name="cacheversion", name="version", field=models.BigIntegerField(default=0), preserve_default=False
        ),
    ]
