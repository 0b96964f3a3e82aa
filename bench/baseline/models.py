from django.db import models


class Product(models.Model):
    """The service's products table, read as a stock project would map it (unmanaged: the service migrates it)."""

    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField()
    category_id = models.BigIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    stock = models.IntegerField()
    is_available = models.BooleanField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)

    # Declared, not implied: the type checker loads the service's settings, where this app is not installed.
    objects: models.Manager["Product"] = models.Manager()

    class Meta:
        managed = False
        db_table = "products_product"

    def __str__(self) -> str:
        return self.name
