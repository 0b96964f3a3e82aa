"""`python -m bench.prepare` (with the bench's settings): what the cases need from the seeded data (the heaviest
account, its token and a sender, products, a login user), and the SQL queries of each list at two page sizes.
Prints one JSON object."""

import json
import uuid
from typing import Any


def main() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.messages.models import Message
    from apps.products.models import Product
    from apps.users.models import User

    heavy = Message.objects.values("account_id").annotate(n=Count("id")).order_by("-n").first()
    if heavy is None:
        raise SystemExit("seed_demo made no messages")
    owner = User.objects.get(account_id=heavy["account_id"])
    sender = Message.objects.filter(account_id=owner.account_id).values_list("sender_number", flat=True).first()
    product_ids = list(Product.objects.order_by("-created_at").values_list("id", flat=True)[:50])
    bench_user, _ = User.objects.get_or_create(email="bench-login@example.com", defaults={"full_name": "Bench"})
    bench_user.set_password("bench-password-not-this-one")
    bench_user.save()

    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(owner)
    queries = {}
    paths = ["/api/v1/products/", "/api/v1/categories/", "/api/v1/messages/", "/api/v1/messages/search/",
             f"/api/v1/accounts/{owner.account_id}/messages/"]  # fmt: skip
    for path in paths:
        # Once first: what a process reads or makes once (a cache scope's version row) is no per-request cost.
        client.get(path, {"page_size": 1})
        counts, status = [], 0
        for size in (5, 100):
            params: dict[str, Any] = {"page_size": size}
            if "products" in path:
                params["search"] = f"nocache-{uuid.uuid4().hex}"
            cache.clear()  # the bench's own cache database: every read is measured with nothing cached yet
            with CaptureQueriesContext(connection) as captured:
                status = client.get(path, params).status_code
            counts.append(len(captured))
        name = path.replace(str(owner.account_id), "{account_id}")
        queries[name] = {"page_size_5": counts[0], "page_size_100": counts[1], "status": status}
    return {
        "token": str(RefreshToken.for_user(owner).access_token),
        "account_id": str(owner.account_id),
        "account_messages": heavy["n"],
        "sender": sender,
        "product_id": product_ids[0],
        "product_ids": product_ids,
        "queries": queries,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
