// The example flow: an admin adds a product; a new customer signs up by phone and code alone,
// browses the catalog, orders, and opens checkout. Then the storefront: the customer saves an
// address, fills the cart, applies the admin's coupon and checks the cart out, paid by Razorpay
// and then cash on delivery (confirmed by the code sent to the phone); staff pack, ship and
// deliver both, and record the cash collected.
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
// With BAZAAR_ID_TOKEN_URL (where a test Google mints ID tokens the server trusts:
// POST {email, name, email_verified, sub} → {id_token}, the contract run's Google stand-in) a
// second customer signs in with Google: phone required → a code to a new phone → signed in,
// the Google email verified → the same token signs in directly.

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

  const idTokenUrl = process.env.BAZAAR_ID_TOKEN_URL;
  if (idTokenUrl) await googleSignIn(baseUrl, idTokenUrl, env("BAZAAR_MESSAGES_URL", `${baseUrl}/api/v1/dev/messages`));

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

  if (canPay()) {
    await pay(client, checkout.razorpay_order_id);
    const paid = await waitFor(client, order.id, "paid");
    console.log(`order ${order.id}: paid, captured ${paid.captured} paise`);
  }

  await storefront(admin, client, product.id, phone, env("BAZAAR_MESSAGES_URL", `${baseUrl}/api/v1/dev/messages`));
}

/** Address → cart → coupon → checkout, by Razorpay and by cash on delivery → shipped → delivered. */
async function storefront(
  admin: BazaarClient,
  client: BazaarClient,
  productId: string,
  phone: string,
  messagesUrl: string,
): Promise<void> {
  // The sign-up code went to this phone moments ago; the COD code must wait out its cooldown.
  const codeSentAt = Date.now();
  const address = await client.saveAddress({
    name: "Example Customer",
    phone,
    line1: "12, 4th Cross, Indiranagar",
    landmark: "Opposite the metro station",
    city: "Bengaluru",
    pincode: "560038",
  });
  console.log(`saved an address in ${address.district ?? "?"}, ${address.state} (GST state ${address.state_code})`);

  const code = `EX${String(Date.now() % 1e8).padStart(8, "0")}`;
  await admin.createCoupon({ code, discount: { kind: "percent", percent_bp: 1000, max_paise: 5000 }, total_limit: 5 });
  await client.putCartItem(productId, 2);
  const withCoupon = await client.applyCoupon(code);
  console.log(`cart: ${withCoupon.subtotal} paise, ${withCoupon.discount} off with ${code}`);
  const shown = await client.getCart({ addressId: address.id });
  if (!shown.ready_for_checkout) throw new Error(`the cart is blocked: ${JSON.stringify(shown.blockers)}`);
  console.log(`for the address: shipping ${shown.shipping}, GST ${shown.tax}, total ${shown.total} paise`);

  const order = await client.checkout({ address_id: address.id, payment_method: "razorpay", expected_total: shown.total });
  if (order.total !== shown.total || order.coupon_code !== code) {
    throw new Error(`checkout charged ${order.total} with ${order.coupon_code}, the cart showed ${shown.total}`);
  }
  console.log(`checked out ${order.id}: ${order.total} paise, place of supply ${order.place_of_supply}`);
  const cod = await cashOnDelivery(client, address.id, productId, phone, messagesUrl, codeSentAt);

  // Staff ship both: the Razorpay order once it is paid (a development server's fake pays it).
  const toShip = [cod];
  if (canPay()) {
    await pay(client, (await client.createPayment(order.id)).razorpay_order_id);
    toShip.push(await waitFor(client, order.id, "paid"));
  }
  for (const placed of toShip) {
    await admin.setOrderStatus(placed.id, { status: "packed" });
    await admin.setOrderStatus(placed.id, {
      status: "shipped",
      shipment: { carrier: "Delhivery", tracking_number: `EX-${placed.id.slice(-8)}` },
    });
    const delivered = await admin.setOrderStatus(placed.id, { status: "delivered" });
    console.log(`order ${placed.id}: ${delivered.status} (${placed.payment_method})`);
  }
  const collected = await admin.collectCod(cod.id, "example-remittance");
  if (collected.captured !== collected.total) throw new Error(`COD order ${cod.id} captured ${collected.captured}`);
  console.log(`order ${cod.id}: cash collected, ${collected.captured} paise`);
}

/** Checks one unit out cash on delivery and confirms it with the code sent to `phone`. */
async function cashOnDelivery(
  client: BazaarClient,
  addressId: string,
  productId: string,
  phone: string,
  messagesUrl: string,
  lastCodeAt: number,
): Promise<Order> {
  const cooldownMs = Number(process.env.BAZAAR_OTP_COOLDOWN_MS ?? 31000);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastCodeAt + cooldownMs - Date.now())));
  await client.putCartItem(productId, 1);
  const order = await client.checkout({ address_id: addressId, payment_method: "cod" });
  const code = await latestCode(messagesUrl, phone);
  const confirmed = await client.confirmCod(order.id, code);
  if (confirmed.status !== "confirmed") throw new Error(`COD order ${order.id} is ${confirmed.status}`);
  console.log(`cash on delivery ${order.id}: confirmed by the code, ${order.total} paise to collect`);
  return confirmed;
}

/** Whether this run can pay: a development server's fake Razorpay, or a Razorpay stand-in. */
function canPay(): boolean {
  return process.env.BAZAAR_DEV_CAPTURE === "1" || Boolean(process.env.BAZAAR_PAY_URL);
}

/** The customer pays the Razorpay order; Razorpay (fake or stand-in) delivers the webhooks. */
async function pay(client: BazaarClient, razorpayOrderId: string): Promise<void> {
  const payUrl = process.env.BAZAAR_PAY_URL;
  if (!payUrl) {
    await client.request("post", "/api/v1/dev/payments/{razorpay_order_id}/capture", {
      path: { razorpay_order_id: razorpayOrderId },
    });
    return;
  }
  const paid = await fetch(payUrl.replace("{razorpay_order_id}", encodeURIComponent(razorpayOrderId)), { method: "POST" });
  if (!paid.ok) throw new Error(`paying at ${payUrl} answered ${paid.status}: ${await paid.text()}`);
}

async function waitFor(client: BazaarClient, id: string, status: Order["status"]): Promise<Order> {
  let order = await client.getOrder(id);
  for (let i = 0; i < 50 && order.status !== status; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    order = await client.getOrder(id);
  }
  if (order.status !== status) throw new Error(`order ${id} is ${order.status}, not ${status}`);
  return order;
}

/**
 * A new customer signs in with Google: the token alone asks for a phone; the token with the
 * phone and its code creates the account (the Google email verified) and signs in; the same
 * token then signs in directly, the Google account being linked.
 */
async function googleSignIn(baseUrl: string, idTokenUrl: string, messagesUrl: string): Promise<void> {
  const stamp = String(Date.now() % 1e8).padStart(8, "0");
  const email = `example-${stamp}@example.in`;
  const minted = await fetch(idTokenUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, name: "Example Google Customer", email_verified: true, sub: `ex${stamp}` }),
  });
  if (!minted.ok) throw new Error(`minting an ID token at ${idTokenUrl} answered ${minted.status}: ${await minted.text()}`);
  const { id_token: idToken } = (await minted.json()) as { id_token: string };

  const client = new BazaarClient(baseUrl);
  const first = await client.signInWithGoogle(idToken);
  if (first.outcome !== "phone_required" || first.email !== email) {
    throw new Error(`a new Google account answered ${JSON.stringify(first)}, not phone_required for ${email}`);
  }
  const phone = `+9195${stamp}`;
  await client.sendSignInCode(phone);
  const code = await latestCode(messagesUrl, phone);
  const signedIn = await client.signInWithGoogle(idToken, { phone, code });
  const user = signedIn.user;
  if (signedIn.outcome !== "signed_in" || !user || user.phone !== phone || user.email !== email || !user.email_verified) {
    throw new Error(`the token with a phone and code answered ${JSON.stringify(signedIn)}`);
  }
  if (client.user?.id !== user.id) throw new Error("the client did not keep the Google sign-in's tokens");
  console.log(`signed in with Google: ${user.phone}, ${user.email} (verified), ${user.name}`);
  const again = await new BazaarClient(baseUrl).signInWithGoogle(idToken);
  if (again.outcome !== "signed_in" || again.user?.id !== user.id) {
    throw new Error(`the linked Google account answered ${JSON.stringify(again)}`);
  }
  console.log(`signed in with Google again: linked to ${again.user.id}, no phone asked`);
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
