// The first-hour scenario driven only through openapi-fetch typed by openapi-typescript's `api.d.ts`, which the
// test generates from the served schema next to this file. `tsc` checks every call against that schema before
// the run: `node dist/scenario.js URL ADMIN_EMAIL PASSWORD` exits non-zero at the first step that goes wrong.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

const [baseUrl, adminEmail, password] = process.argv.slice(2) as [string, string, string];

function must<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  assert.equal(result.response.status, status, JSON.stringify(result.error ?? result.data));
  assert.ok(result.data !== undefined || status === 204);
  return result.data as T;
}

function signedIn(token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

const tag = `ts${randomUUID().slice(0, 8)}`;
const anonymous = createClient<paths>({ baseUrl });

// register, login, me
const email = `${tag}@example.com`;
const secret = "a-long-client-password-5s";
const registered = must(
  await anonymous.POST("/api/v1/auth/register/", { body: { email, password: secret, full_name: "TS Client" } }),
  201,
);
assert.equal(registered.role, "user");
const tokens = must(await anonymous.POST("/api/v1/auth/login/", { body: { email, password: secret } }), 200);
let user = signedIn(tokens.access);
const me = must(await user.GET("/api/v1/users/me/"), 200);
assert.deepEqual([me.id, me.email, me.account_id], [registered.id, email, registered.account_id]);

// admin: a category and four products, one unavailable
const adminTokens = must(
  await anonymous.POST("/api/v1/auth/login/", { body: { email: adminEmail, password } }),
  200,
);
const admin = signedIn(adminTokens.access);
const slug = `${tag}-tools`;
must(await admin.POST("/api/v1/categories/", { body: { slug, name: "Client tools" } }), 201);
const created: Record<string, number> = {};
for (const [sku, name, price, available] of [
  ["A", "Anvil", "10.00", true],
  ["B", "Brush", "10.00", true],
  ["C", "Chisel", "5.50", true],
  ["D", "Drill", "7.00", false],
] as const) {
  const product = must(
    await admin.POST("/api/v1/products/", {
      body: { sku: `${tag}-${sku}`, name, category: slug, price, stock: 3, is_available: available },
    }),
    201,
  );
  assert.equal(product.is_available, available);
  created[sku] = product.id;
}
const anvil = created.A!;
const brush = created.B!;

// price change and its history
const changed = must(
  await admin.PATCH("/api/v1/products/{id}/price/", { params: { path: { id: anvil } }, body: { price: "12.25" } }),
  200,
);
assert.equal(changed.price, "12.25");
const history = must(
  await user.GET("/api/v1/products/{id}/price-history/", { params: { path: { id: anvil } } }),
  200,
);
assert.deepEqual(
  history.results.map((h) => [h.old_price, h.new_price]),
  [["10.00", "12.25"]],
);

// availability off and on
for (const available of [false, true]) {
  const answer = must(
    await admin.PATCH("/api/v1/products/{id}/availability/", {
      params: { path: { id: brush } },
      body: { is_available: available },
    }),
    200,
  );
  assert.equal(answer.is_available, available);
}

// filtered list, two-key ordering: price ascending, then name descending; and the other way round
const page = must(
  await user.GET("/api/v1/products/", {
    params: { query: { category: slug, is_available: true, ordering: ["price", "-name"] } },
  }),
  200,
);
assert.deepEqual(
  page.results.map((p) => p.name),
  ["Chisel", "Brush", "Anvil"],
);
const reverse = must(
  await user.GET("/api/v1/products/", { params: { query: { category: slug, ordering: ["name", "-price"] } } }),
  200,
);
assert.deepEqual(
  reverse.results.map((p) => p.name),
  ["Anvil", "Brush", "Chisel", "Drill"],
);

// a message with an Idempotency-Key, its replay, list, retrieve, search
const message = { sender_number: "+15550001111", receiver_number: "+447700900123", body: "Hello" };
const key = `${tag}-key`;
const first = must(
  await user.POST("/api/v1/messages/", { params: { header: { "Idempotency-Key": key } }, body: message }),
  201,
);
assert.equal(first.status, "queued");
const replay = await user.POST("/api/v1/messages/", { params: { header: { "Idempotency-Key": key } }, body: message });
assert.ok([200, 201].includes(replay.response.status));
assert.equal(replay.data?.message_id, first.message_id);
const listed = must(await user.GET("/api/v1/messages/"), 200);
assert.deepEqual(
  listed.results.map((m) => m.message_id),
  [first.message_id],
);
const one = must(
  await user.GET("/api/v1/messages/{message_id}/", { params: { path: { message_id: first.message_id } } }),
  200,
);
assert.equal(one.body, "Hello");
const found = must(
  await user.GET("/api/v1/messages/search/", { params: { query: { receiver_number: "+44 7700 900123" } } }),
  200,
);
assert.deepEqual(
  found.results.map((m) => m.message_id),
  [first.message_id],
);

// a scheduled message: its segments, then canceled (twice: the same answer)
const sendAt = new Date(Date.now() + 10 * 60 * 1000).toISOString();
const scheduled = must(
  await user.POST("/api/v1/messages/", { body: { ...message, body: "Later €", send_at: sendAt } }),
  201,
);
assert.deepEqual([scheduled.status, scheduled.encoding, scheduled.segments], ["scheduled", "GSM-7", 1]);
for (let n = 0; n < 2; n++) {
  const canceled = must(
    await user.POST("/api/v1/messages/{message_id}/cancel/", {
      params: { path: { message_id: scheduled.message_id } },
    }),
    200,
  );
  assert.equal(canceled.status, "canceled");
}

// an opt-out refuses a create to its recipient until it is taken back; the account's answer to HELP
const optOut = must(
  await user.POST("/api/v1/accounts/me/opt-outs/", { body: { recipient_number: "+44 7700 900124" } }),
  201,
);
assert.deepEqual([optOut.recipient_number, optOut.sender_number, optOut.source], ["+447700900124", null, "api"]);
const toOptedOut = { ...message, receiver_number: "+447700900124" };
const refused = await user.POST("/api/v1/messages/", { body: toOptedOut });
assert.equal(refused.response.status, 403);
assert.equal(refused.error?.code, "recipient_opted_out");
const optOuts = must(
  await user.GET("/api/v1/accounts/me/opt-outs/", { params: { query: { recipient_number: "+447700900124" } } }),
  200,
);
assert.deepEqual(
  optOuts.results.map((o) => o.id),
  [optOut.id],
);
must(await user.DELETE("/api/v1/accounts/me/opt-outs/{id}/", { params: { path: { id: optOut.id } } }), 204);
must(await user.POST("/api/v1/messages/", { body: toOptedOut }), 201);
const texts = must(await user.PATCH("/api/v1/accounts/me/messaging/", { body: { help_text: "Client help." } }), 200);
assert.equal(texts.help_text, "Client help.");

// refresh, then logout with the new refresh token; both are dead afterwards (a replay of the rotated one would
// also revoke every session of the account, so it comes last)
const refreshed = must(await anonymous.POST("/api/v1/auth/refresh/", { body: { refresh: tokens.refresh } }), 200);
assert.notEqual(refreshed.refresh, tokens.refresh);
user = signedIn(refreshed.access);
const logout = await user.POST("/api/v1/auth/logout/", { body: { refresh: refreshed.refresh } });
assert.equal(logout.response.status, 204);
const after = await anonymous.POST("/api/v1/auth/refresh/", { body: { refresh: refreshed.refresh } });
assert.equal(after.response.status, 401);
const again = await anonymous.POST("/api/v1/auth/refresh/", { body: { refresh: tokens.refresh } });
assert.equal(again.response.status, 401);
assert.equal(again.error?.code, "token_not_valid");
console.log("typescript scenario: ok");
