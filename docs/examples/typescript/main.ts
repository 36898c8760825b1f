// The example flow: an admin adds a product; a new customer signs up by phone and code alone,
// browses the catalog, orders, and opens checkout.
//
//   BAZAAR_URL=http://127.0.0.1:8080 BAZAAR_PHONE=+91... BAZAAR_PASSWORD=... node dist/main.js
//
// BAZAAR_PHONE/BAZAAR_PASSWORD name an account allowed to create products (an admin, e.g. the
// development admin of `make run`). The customer's code is read from BAZAAR_MESSAGES_URL (by
// default a development server's `GET /api/v1/dev/messages`; a test run points it at its SMS
// stand-in's record). With BAZAAR_DEV_CAPTURE=1
// (development servers only) it also completes the payment through the fake Razorpay and
// waits for the order to be `paid`; with BAZAAR_PAY_URL (a URL with `{razorpay_order_id}` in
// it, such as the test Razorpay stand-in's `/_stub/orders/{razorpay_order_id}/pay`) it POSTs
// there instead, the customer's payment at a Razorpay that then delivers its webhooks.

import { ApiError, BazaarClient, type Order } from "./client.js";

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
}

async function main(): Promise<void> {
  const baseUrl = env("BAZAAR_URL", "http://127.0.0.1:8080");
  const admin = new BazaarClient(baseUrl);
  const session = await admin.signIn(env("BAZAAR_PHONE"), env("BAZAAR_PASSWORD"));
  console.log(`signed in as ${session.user.name} (${session.user.roles.join(", ")}), token until ${session.expires_at}`);

  // Phone-first: a new customer needs a phone and the code sent to it, nothing else.
  const client = new BazaarClient(baseUrl);
  const phone = `+9196${String(Date.now() % 1e8).padStart(8, "0")}`;
  await client.sendSignInCode(phone);
  const code = await latestCode(env("BAZAAR_MESSAGES_URL", `${baseUrl}/api/v1/dev/messages`), phone);
  const customer = await client.signInWithCode(phone, code, "Example Customer");
  if (!customer.account_created || customer.user.has_password) {
    throw new Error(`signing up by code answered ${JSON.stringify(customer.user)}`);
  }
  console.log(`signed up ${customer.user.phone} by code: ${customer.user.name}, no password`);

  const sku = `EX-${Date.now()}`;
  const created = await admin.createProduct({
    sku,
    name: "Example filter coffee, 250 g",
    price: 24900,
    currency: "INR",
    category: "grocery",
    tags: ["example"],
    stock: 10,
  });
  console.log(`created ${created.sku} (${created.id}) at ${created.price} paise`);

  const page = await client.listProducts({ tag: "example", limit: 10, sort: "-created_at" });
  console.log(`listed ${page.items.length} example products; more: ${page.has_next}`);
  const product = await client.getProduct(page.items.find((p) => p.sku === sku)?.id ?? created.id);
  if (product.sku !== sku) throw new Error(`getProduct answered ${product.sku}, not ${sku}`);

  const order = await client.createOrder({ items: [{ product_id: product.id, quantity: 2 }], notes: "example" });
  console.log(`order ${order.id}: ${order.status}, total ${order.total} ${order.currency} (tax ${order.tax})`);

  const checkout = await client.createPayment(order.id);
  console.log(`checkout: key ${checkout.key_id}, razorpay order ${checkout.razorpay_order_id}, ${checkout.amount} paise`);
  if (checkout.amount !== order.total) throw new Error(`checkout asks ${checkout.amount}, the order is ${order.total}`);

  const payUrl = process.env.BAZAAR_PAY_URL;
  if (process.env.BAZAAR_DEV_CAPTURE === "1" || payUrl) {
    if (payUrl) {
      const paid = await fetch(payUrl.replace("{razorpay_order_id}", encodeURIComponent(checkout.razorpay_order_id)), {
        method: "POST",
      });
      if (!paid.ok) throw new Error(`paying at ${payUrl} answered ${paid.status}: ${await paid.text()}`);
    } else {
      await client.request("post", "/api/v1/dev/payments/{razorpay_order_id}/capture", {
        path: { razorpay_order_id: checkout.razorpay_order_id },
      });
    }
    let paid: Order = await client.getOrder(order.id);
    for (let i = 0; i < 50 && paid.status !== "paid"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      paid = await client.getOrder(order.id);
    }
    if (paid.status !== "paid") throw new Error(`order ${order.id} is ${paid.status}, not paid`);
    console.log(`order ${order.id}: paid, captured ${paid.captured} paise`);
  }
}

/** The newest sign-in code the SMS provider (fake or stand-in) was asked to send to `phone`. */
async function latestCode(messagesUrl: string, phone: string): Promise<string> {
  const response = await fetch(messagesUrl);
  const messages = (await response.json()) as { channel: string; to: string; code?: string }[];
  const code = messages.filter((m) => m.channel === "sms" && m.to === phone && m.code).at(-1)?.code;
  if (!code) throw new Error(`no code was sent to ${phone}`);
  return code;
}

main().catch((error: unknown) => {
  if (error instanceof ApiError) console.error(`API error: ${error.message}`, error.problem?.errors ?? "");
  else console.error(error);
  process.exit(1);
});
