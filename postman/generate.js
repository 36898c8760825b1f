#!/usr/bin/env node
// Generates the Postman collection and environment from the committed contract.
//
//   make postman                       (cd postman && npm ci && node generate.js)
//   node generate.js --out-dir DIR     (the drift check writes elsewhere and compares)
//
// openapi-to-postmanv2 converts openapi/openapi.yaml (a folder per tag); this script then adds
// what the converter cannot: collection-level bearer auth with a pre-request script that signs
// in once and refreshes the token before it expires, `noauth` on the public operations, and a
// "Flows" folder whose requests carry test scripts for the main journey (a sign-in code to a new
// phone → OTP from the dev messages → sign up by code → set a password and sign in with it →
// sign in with Google (ID token → phone required → code → signed in → linked) →
// admin creates and lists products → order → pay → webhook → paid), and
// a collection-level test every request runs (no 5xx; an error is a problem document).
// Where the OTP is read and how a checkout is paid are environment variables (`messagesUrl`,
// `payUrl`): a development server's dev routes by default, a test run's provider stand-ins in
// production (tests/contract/postman.py). Google's ID tokens are minted at `idTokenUrl`, the test
// run's Google stand-in in both profiles; empty by default, which skips the Google steps.
// The output is deterministic (seeded example faker, ids derived from names, sorted keys), so
// `tests/contract/postman.py` can fail on any drift. Never edit the generated files by hand.

"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const SPEC = path.join(ROOT, "openapi", "openapi.yaml");
const COLLECTION_FILE = "bazaar.postman_collection.json";
const ENVIRONMENT_FILE = "local.postman_environment.json";

// ---- Determinism -----------------------------------------------------------------------------

// The converter fakes example bodies with Math.random: seed it (mulberry32).
function seedRandom(seed) {
  let a = seed >>> 0;
  Math.random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Faked dates are offsets from "now": freeze the clock while converting.
function freezeClock(iso) {
  const RealDate = Date;
  const fixed = RealDate.parse(iso);
  class FrozenDate extends RealDate {
    constructor(...args) {
      super(...(args.length ? args : [fixed]));
    }
    static now() {
      return fixed;
    }
  }
  global.Date = FrozenDate;
  return () => {
    global.Date = RealDate;
  };
}

// A UUID-shaped id derived from a name, so ids are stable across runs.
function stableId(name) {
  const h = crypto.createHash("sha1").update(`bazaar:${name}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined) out[key] = sortKeys(value[key]);
    }
    return out;
  }
  return value;
}

// ---- Conversion ------------------------------------------------------------------------------

function convert(spec) {
  // Seed before loading: the faker keeps its own reference to Math.random.
  seedRandom(0x6ba2aa2);
  const converter = require("openapi-to-postmanv2");
  const options = {
    folderStrategy: "Tags",
    parametersResolution: "Example",
    alwaysInheritAuthentication: true,
    enableOptionalParameters: false,
    requestNameSource: "Fallback",
    indentCharacter: "Space",
  };
  // The converter's schema validator warns about formats such as uint64; they are harmless.
  const warn = console.warn;
  console.warn = () => {};
  const unfreeze = freezeClock("2025-01-01T00:00:00Z");
  return new Promise((resolve, reject) => {
    converter.convert({ type: "string", data: spec }, options, (error, result) => {
      console.warn = warn;
      unfreeze();
      if (error) return reject(error);
      if (!result.result) return reject(new Error(`conversion failed: ${result.reason}`));
      resolve(result.output[0].data);
    });
  });
}

// Which operations need no token: method + Postman path ("api/v1/products/:id") → true.
function publicOperations(specText) {
  const yaml = require("js-yaml");
  const doc = yaml.load(specText);
  const out = new Set();
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== "object" || !op.operationId) continue;
      const security = op.security ?? doc.security ?? [];
      if (security.length === 0) out.add(`${method.toUpperCase()} ${postmanPath(route)}`);
    }
  }
  return out;
}

function postmanPath(route) {
  return route
    .replace(/^\//, "")
    .split("/")
    .map((segment) => segment.replace(/^\{(.+)\}$/, ":$1"))
    .join("/");
}

function requestKey(request) {
  const url = request.url;
  const segments = Array.isArray(url.path) ? url.path : String(url.path || "").split("/");
  return `${request.method} ${segments.join("/")}`;
}

const NOAUTH = { type: "noauth" };

function bearer(variable) {
  return { type: "bearer", bearer: [{ key: "token", value: `{{${variable}}}`, type: "string" }] };
}

function script(kind, lines, name) {
  return {
    listen: kind,
    script: { id: stableId(`${name}:${kind}`), type: "text/javascript", exec: lines.flatMap((l) => l.split("\n")) },
  };
}

// ---- The collection's auth: sign in once, refresh before expiry -------------------------------

const AUTH_SCRIPT = String.raw`// Collection auth (generated by postman/generate.js): requests inherit "Bearer {{access_token}}".
// Sign in once with adminPhone/adminPassword, keep the tokens in the environment, and refresh
// them 30 s before the access token expires (or sign in again when the refresh fails).
(function () {
    if (pm.request.auth && pm.request.auth.type === 'noauth') { return; }
    const base = pm.variables.get('baseUrl');
    const token = pm.environment.get('access_token');
    const expiresAt = Number(pm.environment.get('access_token_expires_at') || 0);
    const refreshToken = pm.environment.get('refresh_token');
    const store = (tokens) => {
        pm.environment.set('access_token', tokens.access_token);
        pm.environment.set('refresh_token', tokens.refresh_token);
        pm.environment.set('access_token_expires_at', String(Date.parse(tokens.expires_at)));
    };
    const post = (route, body, done) => pm.sendRequest({
        url: base + route,
        method: 'POST',
        header: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: { mode: 'raw', raw: JSON.stringify(body) }
    }, done);
    const signIn = () => post('/api/v1/auth/login', {
        identifier: pm.variables.get('adminPhone'),
        password: pm.variables.get('adminPassword'),
        device: 'postman'
    }, (error, response) => {
        if (error || response.code !== 200) {
            console.error('sign-in failed', error || response.code + ' ' + response.text());
            return;
        }
        store(response.json());
    });
    if (!token) {
        signIn();
    } else if (Date.now() > expiresAt - 30000 && refreshToken) {
        post('/api/v1/auth/refresh', { refresh_token: refreshToken }, (error, response) => {
            if (error || response.code !== 200) { signIn(); return; }
            store(response.json());
        });
    }
})();`;

// ---- What every request is held to ------------------------------------------------------------------

const RESPONSE_SCRIPT = String.raw`// Every request (generated by postman/generate.js): no server error, and an error is an
// RFC 9457 problem document with a code. A 401 to a request with the collection's auth clears
// the stored token (a "Sign out everywhere" ends the session), so the next one signs in again.
(function () {
    pm.test('no server error', () => pm.expect(pm.response.code).to.be.below(500));
    if (pm.response.code >= 400) {
        pm.test('the error is a problem document with a code', () => {
            pm.expect(pm.response.headers.get('Content-Type')).to.include('application/problem+json');
            pm.expect(pm.response.json().code).to.be.a('string').and.not.empty;
        });
    }
    const auth = pm.request.auth;
    if (pm.response.code === 401 && !(auth && auth.type === 'noauth')) {
        pm.environment.unset('access_token');
    }
})();`;

// ---- The Flows folder ---------------------------------------------------------------------------

// A Flows request to `route` on the server, or to `url` (a variable holding a whole URL).
function flowRequest({ name, method, route, url, query, body, auth, headers, prerequest, tests, description }) {
  const segments = url ? [] : route.replace(/^\//, "").split("/");
  const host = url || "{{baseUrl}}";
  const raw = `${url || `{{baseUrl}}/${segments.join("/")}`}${query ? `?${query.map(([k, v]) => `${k}=${v}`).join("&")}` : ""}`;
  const header = [{ key: "Accept", value: "application/json" }];
  if (body) header.push({ key: "Content-Type", value: "application/json" });
  for (const [key, value] of headers || []) header.push({ key, value });
  const request = {
    method,
    header,
    url: {
      raw,
      host: [host],
      // No path for a whole-URL variable: an empty one would add a trailing slash.
      path: url ? undefined : segments,
      query: (query || []).map(([key, value]) => ({ key, value })),
    },
    description,
  };
  if (auth) request.auth = auth;
  // A variable standing for a number (`"{{cart_total}}"`) is sent unquoted.
  const unquoted = (text) => text.replace(/"\{\{(cart_total)\}\}"/g, "{{$1}}");
  if (body) request.body = { mode: "raw", raw: unquoted(JSON.stringify(body, null, 2)), options: { raw: { language: "json" } } };
  const event = [];
  if (prerequest) event.push(script("prerequest", [prerequest], `Flows/${name}`));
  event.push(script("test", [tests], `Flows/${name}`));
  return { id: stableId(`Flows/${name}`), name, request, event, response: [] };
}

// The "Sign in with Google" steps (6–11): Google's ID token needs a key the server trusts, so
// they mint it at `idTokenUrl` (a test run's Google stand-in) and are skipped when it is empty.
const GOOGLE_SKIP = String.raw`if (!pm.variables.get('idTokenUrl')) {
    console.log('idTokenUrl is empty: the Google sign-in steps are skipped');
    pm.execution.skipRequest();
}`;

function googleSteps() {
  const step = (options) =>
    flowRequest({
      ...options,
      auth: NOAUTH,
      prerequest: options.prerequest ? `${GOOGLE_SKIP}\n${options.prerequest}` : GOOGLE_SKIP,
    });
  return [
    step({
      name: "6. Google: an ID token for a new Google account",
      method: "POST",
      url: "{{idTokenUrl}}",
      description:
        "What Google Identity Services hands the page after the customer picks a Google account: " +
        "here minted by the test run's Google stand-in (`idTokenUrl`, whose keys the server trusts " +
        "through BAZAAR_OIDC_GOOGLE_*). Steps 6–11 are skipped when `idTokenUrl` is empty.",
      prerequest: String.raw`const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
pm.environment.set('google_email', 'postman-' + digits + '@example.in');
pm.environment.set('google_sub', '1' + digits + digits + '00');
pm.environment.set('google_phone', '+9198' + digits);`,
      body: { email: "{{google_email}}", email_verified: true, name: "Postman Google Customer", sub: "{{google_sub}}" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const token = pm.response.json().id_token;
pm.test('an ID token (a JWS)', () => pm.expect(token.split('.')).to.have.lengthOf(3));
pm.environment.set('google_id_token', token);`,
    }),
    step({
      name: "7. Google: sign in with the token",
      method: "POST",
      route: "/api/v1/auth/oidc/google",
      description:
        "No account has this Google account or its email, and accounts are phone-first: the answer " +
        "asks for a phone (the token is kept for step 10).",
      body: { id_token: "{{google_id_token}}", device: "postman" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const body = pm.response.json();
pm.test('a phone is required, no tokens yet', () => {
    pm.expect(body.outcome).to.eql('phone_required');
    pm.expect(body.email).to.eql(pm.environment.get('google_email'));
    pm.expect(body.tokens).to.be.undefined;
});`,
    }),
    step({
      name: "8. Google: send a sign-in code to a new phone",
      method: "POST",
      route: "/api/v1/auth/otp/send",
      body: { phone: "{{google_phone}}", purpose: "login" },
      tests: String.raw`pm.test('202 Accepted', () => pm.response.to.have.status(202));`,
    }),
    step({
      name: "9. Google: read the code from the dev messages",
      method: "GET",
      url: "{{messagesUrl}}",
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const phone = pm.environment.get('google_phone');
const sent = pm.response.json().filter((m) => m.to === phone && m.channel === 'sms' && m.code);
pm.test('a code was sent to the phone by SMS', () => pm.expect(sent.length).to.be.above(0));
if (sent.length) { pm.environment.set('google_otp_code', sent[sent.length - 1].code); }`,
    }),
    step({
      name: "10. Google: sign in with the token, the phone and its code",
      method: "POST",
      route: "/api/v1/auth/oidc/google",
      description:
        "The same token with the phone and its code: a new account (name and verified email from " +
        "the token, no password), linked to the Google account, and signed in.",
      body: {
        id_token: "{{google_id_token}}",
        phone_proof: { phone: "{{google_phone}}", code: "{{google_otp_code}}" },
        device: "postman",
      },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const body = pm.response.json();
pm.test('signed in to a new account with the phone and the verified Google email', () => {
    pm.expect(body.outcome).to.eql('signed_in');
    pm.expect(body.tokens.access_token).to.be.a('string').and.not.empty;
    pm.expect(body.tokens.refresh_token).to.be.a('string').and.not.empty;
    pm.expect(body.user.phone).to.eql(pm.environment.get('google_phone'));
    pm.expect(body.user.phone_verified).to.eql(true);
    pm.expect(body.user.email).to.eql(pm.environment.get('google_email'));
    pm.expect(body.user.email_verified).to.eql(true);
    pm.expect(body.user.name).to.eql('Postman Google Customer');
    pm.expect(body.user.has_password).to.eql(false);
});
pm.environment.set('google_user_id', body.user.id);`,
    }),
    step({
      name: "11. Google: the same Google account signs in directly",
      method: "POST",
      route: "/api/v1/auth/oidc/google",
      description: "The Google account is linked now: its token alone signs in, no phone asked.",
      body: { id_token: "{{google_id_token}}", device: "postman" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const body = pm.response.json();
pm.test('signed in to the same account', () => {
    pm.expect(body.outcome).to.eql('signed_in');
    pm.expect(body.tokens.access_token).to.be.a('string').and.not.empty;
    pm.expect(body.user.id).to.eql(pm.environment.get('google_user_id'));
});`,
    }),
  ];
}

// Steps 19–36: the storefront path, from a saved address and a coupon through checkout from the
// cart, once paid by Razorpay and once cash on delivery, to delivery.
function storefrontSteps(customer) {
  const status = (name, to, extra, expectStatus) =>
    flowRequest({
      name,
      method: "PUT",
      route: `/api/v1/orders/{{${to.order}}}/status`,
      description: "Staff (the collection's admin) move the order along.",
      body: { status: to.status, ...(extra || {}) },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
pm.test('the order is ${expectStatus || to.status}', () => pm.expect(pm.response.json().status).to.eql('${expectStatus || to.status}'));`,
    });
  const priced = String.raw`const cart = pm.response.json();
pm.test('the total is goods − discount + shipping + GST', () => {
    pm.expect(cart.total).to.eql(cart.subtotal - cart.discount + cart.shipping + cart.tax);
});`;
  return [
    flowRequest({
      name: "19. The customer saves an address",
      method: "POST",
      route: "/api/v1/users/me/addresses",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      description: "India Post's directory fills the district, the state and its GST code from the pincode.",
      body: {
        name: "Postman Customer",
        phone: "{{customer_phone}}",
        line1: "12, 4th Cross, Indiranagar",
        landmark: "Opposite the metro station",
        city: "Bengaluru",
        pincode: "560038",
      },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const address = pm.response.json();
pm.test('placed in Karnataka, GST state 29, the default', () => {
    pm.expect(address.state).to.eql('Karnataka');
    pm.expect(address.state_code).to.eql('29');
    pm.expect(address.is_default).to.eql(true);
});
pm.environment.set('address_id', address.id);`,
    }),
    flowRequest({
      name: "20. The admin creates a coupon",
      method: "POST",
      route: "/api/v1/admin/coupons",
      body: {
        code: "{{run_tag}}",
        discount: { kind: "percent", percent_bp: 1000, max_paise: 5000 },
        total_limit: 5,
        per_customer_limit: 2,
      },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const coupon = pm.response.json();
pm.test('kept in upper case, unused', () => {
    pm.expect(coupon.code).to.eql(pm.environment.get('run_tag').toUpperCase());
    pm.expect(coupon.uses).to.eql(0);
});
pm.environment.set('coupon_code', coupon.code);`,
    }),
    flowRequest({
      name: "21. The customer puts two in the cart",
      method: "PUT",
      route: "/api/v1/cart/items/{{product_id}}",
      auth: customer,
      description: "A product without options is its own variant: its id is the variant id. Setting the quantity makes a retry harmless.",
      body: { product_id: "{{product_id}}", quantity: 2 },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const cart = pm.response.json();
pm.test('one line of two, in stock', () => {
    pm.expect(cart.lines).to.have.lengthOf(1);
    pm.expect(cart.lines[0].quantity).to.eql(2);
    pm.expect(cart.lines[0].state).to.eql('in_stock');
    pm.expect(cart.subtotal).to.eql(2 * 19900);
});`,
    }),
    flowRequest({
      name: "22. The customer applies the coupon",
      method: "PUT",
      route: "/api/v1/cart/coupon",
      auth: customer,
      body: { code: "{{coupon_code}}" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const cart = pm.response.json();
pm.test('10% off the goods', () => {
    pm.expect(cart.coupon.applied).to.eql(true);
    pm.expect(cart.discount).to.eql(Math.floor(2 * 19900 / 10));
});`,
    }),
    flowRequest({
      name: "23. The cart priced for the address",
      method: "GET",
      route: "/api/v1/cart",
      query: [["address_id", "{{address_id}}"]],
      auth: customer,
      description: "What checkout will charge: shipping by the address's zone, GST on goods and shipping.",
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
${priced}
pm.test('delivered there, ready for checkout', () => {
    pm.expect(cart.delivery.serviceable).to.eql(true);
    pm.expect(cart.ready_for_checkout).to.eql(true);
});
pm.environment.set('cart_total', String(cart.total));`,
    }),
    flowRequest({
      name: "24. Checkout from the cart, paid by Razorpay",
      method: "POST",
      route: "/api/v1/cart/checkout",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      body: { address_id: "{{address_id}}", payment_method: "razorpay", expected_total: "{{cart_total}}" },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const order = pm.response.json();
pm.test('the order charges what the cart showed', () => {
    pm.expect(order.total).to.eql(Number(pm.environment.get('cart_total')));
    pm.expect(order.coupon_code).to.eql(pm.environment.get('coupon_code'));
    pm.expect(order.discount).to.be.above(0);
    pm.expect(order.place_of_supply).to.eql('29');
    pm.expect(order.status).to.eql('pending_payment');
});
pm.environment.set('cart_order_id', order.id);
pm.environment.set('order_total', String(order.total));`,
    }),
    flowRequest({
      name: "25. The cart is empty",
      method: "GET",
      route: "/api/v1/cart",
      auth: customer,
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
pm.test('no lines, no coupon', () => {
    pm.expect(pm.response.json().lines).to.have.lengthOf(0);
    pm.expect(pm.response.json().coupon).to.be.undefined;
});`,
    }),
    flowRequest({
      name: "26. The customer opens checkout for the cart's order",
      method: "POST",
      route: "/api/v1/orders/{{cart_order_id}}/payments",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const checkout = pm.response.json();
pm.test('for the whole order', () => pm.expect(checkout.amount).to.eql(Number(pm.environment.get('order_total'))));
pm.environment.set('razorpay_order_id', checkout.razorpay_order_id);`,
    }),
    flowRequest({
      name: "27. Pay the cart's order",
      method: "POST",
      url: "{{payUrl}}",
      auth: NOAUTH,
      tests: String.raw`pm.test('200 OK: paid, and the webhooks were accepted', () => pm.response.to.have.status(200));`,
    }),
    status("28. Packed", { order: "cart_order_id", status: "packed" }),
    status("29. Shipped with a tracking number", { order: "cart_order_id", status: "shipped" }, {
      shipment: { carrier: "Delhivery", tracking_number: "{{run_tag}}" },
    }),
    status("30. Delivered", { order: "cart_order_id", status: "delivered" }),
    flowRequest({
      name: "31. The customer puts one in the cart again",
      method: "PUT",
      route: "/api/v1/cart/items/{{product_id}}",
      auth: customer,
      body: { product_id: "{{product_id}}", quantity: 1 },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));`,
    }),
    flowRequest({
      name: "32. Checkout from the cart, cash on delivery",
      method: "POST",
      route: "/api/v1/cart/checkout",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      description: "Offered where the address's zone takes cash, up to the ceiling, to a verified phone: a code goes there.",
      prerequest: String.raw`// The phone's OTP cooldown since the sign-up code must have passed.
const due = Number(pm.environment.get('otp_sent_at') || 0) + Number(pm.variables.get('otpCooldownMs') || 31000);
setTimeout(() => {}, Math.max(0, due - Date.now()));`,
      body: { address_id: "{{address_id}}", payment_method: "cod" },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const order = pm.response.json();
pm.test('cash on delivery, waiting for the code', () => {
    pm.expect(order.payment_method).to.eql('cod');
    pm.expect(order.status).to.eql('pending_payment');
    pm.expect(order.total).to.eql(order.subtotal - order.discount + order.shipping + order.tax);
});
pm.environment.set('cod_order_id', order.id);`,
    }),
    flowRequest({
      name: "33. Read the COD code from the dev messages",
      method: "GET",
      url: "{{messagesUrl}}",
      auth: NOAUTH,
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const phone = pm.environment.get('customer_phone');
const sent = pm.response.json().filter((m) => m.to === phone && m.channel === 'sms' && m.code);
pm.test('a code was sent to the phone', () => pm.expect(sent.length).to.be.above(0));
if (sent.length) { pm.environment.set('cod_code', sent[sent.length - 1].code); }`,
    }),
    flowRequest({
      name: "34. The customer confirms the COD order",
      method: "POST",
      route: "/api/v1/orders/{{cod_order_id}}/actions/confirm-cod",
      auth: customer,
      body: { code: "{{cod_code}}" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
pm.test('confirmed', () => pm.expect(pm.response.json().status).to.eql('confirmed'));`,
    }),
    status("35. COD: packed", { order: "cod_order_id", status: "packed" }),
    status("36. COD: shipped", { order: "cod_order_id", status: "shipped" }, {
      shipment: { carrier: "Ekart", tracking_number: "{{run_tag}}-cod" },
    }),
    status("37. COD: delivered", { order: "cod_order_id", status: "delivered" }),
    flowRequest({
      name: "38. Staff record the cash collected",
      method: "POST",
      route: "/api/v1/orders/{{cod_order_id}}/actions/collect-cod",
      body: { reference: "{{run_tag}}-remittance" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const order = pm.response.json();
pm.test('paid in cash: one capture of the whole total', () => {
    pm.expect(order.captured).to.eql(order.total);
    pm.expect(order.ledger.filter((e) => e.kind === 'capture' && e.offline && e.offline.method === 'cash')).to.have.lengthOf(1);
});`,
    }),
  ];
}

function flowsFolder() {
  const customer = bearer("customer_token");
  const items = [
    flowRequest({
      name: "1. Send a sign-in code to a new phone",
      method: "POST",
      route: "/api/v1/auth/otp/send",
      auth: NOAUTH,
      description:
        "Phone-first: a random Indian mobile number with no account asks for a sign-in code; " +
        "its first correct use creates the account (no password, no register call).",
      prerequest: String.raw`const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
pm.environment.set('customer_phone', '+9197' + digits);
pm.environment.set('customer_password', 'postman-' + pm.variables.replaceIn('{{$guid}}'));
pm.environment.set('run_tag', 'postman-' + digits);`,
      body: { phone: "{{customer_phone}}", purpose: "login" },
      tests: String.raw`pm.test('202 Accepted', () => pm.response.to.have.status(202));
pm.environment.set('otp_sent_at', String(Date.now()));`,
    }),
    flowRequest({
      name: "2. Read the OTP from the dev messages",
      method: "GET",
      url: "{{messagesUrl}}",
      auth: NOAUTH,
      description:
        "The SMS sent so far: by default a development server's dev messages (the fake SMS provider's outbox); " +
        "in a production test run, the MSG91 stand-in's record of what it was asked to send.",
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const phone = pm.environment.get('customer_phone');
const sent = pm.response.json().filter((m) => m.to === phone && m.channel === 'sms' && m.code);
pm.test('a code was sent to the new phone by SMS', () => pm.expect(sent.length).to.be.above(0));
if (sent.length) { pm.environment.set('otp_code', sent[sent.length - 1].code); }`,
    }),
    flowRequest({
      name: "3. Sign up by code",
      method: "POST",
      route: "/api/v1/auth/otp/verify",
      auth: NOAUTH,
      description: "The code and a name create the account and sign it in.",
      body: {
        phone: "{{customer_phone}}",
        purpose: "login",
        code: "{{otp_code}}",
        name: "Postman Customer",
        device: "postman",
      },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const body = pm.response.json();
pm.test('a new, verified account without a password, signed in', () => {
    pm.expect(body.account_created).to.eql(true);
    pm.expect(body.user.phone).to.eql(pm.environment.get('customer_phone'));
    pm.expect(body.user.phone_verified).to.eql(true);
    pm.expect(body.user.has_password).to.eql(false);
    pm.expect(body.user.roles).to.include('customer');
    pm.expect(body.tokens.access_token).to.be.a('string').and.not.empty;
});
pm.environment.set('customer_id', body.user.id);
pm.environment.set('customer_token', body.tokens.access_token);`,
    }),
    flowRequest({
      name: "4. The customer sets a password",
      method: "PUT",
      route: "/api/v1/users/me/password",
      auth: customer,
      description: "Optional, and within ten minutes of signing in: a second way in.",
      body: { new_password: "{{customer_password}}" },
      tests: String.raw`pm.test('204 No Content', () => pm.response.to.have.status(204));`,
    }),
    flowRequest({
      name: "5. The customer signs in with it",
      method: "POST",
      route: "/api/v1/auth/login",
      auth: NOAUTH,
      body: { identifier: "{{customer_phone}}", password: "{{customer_password}}", device: "postman" },
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const tokens = pm.response.json();
pm.test('a bearer token pair', () => {
    pm.expect(tokens.token_type.toLowerCase()).to.eql('bearer');
    pm.expect(tokens.access_token).to.be.a('string').and.not.empty;
    pm.expect(tokens.refresh_token).to.be.a('string').and.not.empty;
    pm.expect(tokens.user.id).to.eql(pm.environment.get('customer_id'));
    pm.expect(tokens.user.has_password).to.eql(true);
});
pm.environment.set('customer_token', tokens.access_token);`,
    }),
    ...googleSteps(),
    flowRequest({
      name: "12. The admin creates a product",
      method: "POST",
      route: "/api/v1/products",
      description: "Runs with the collection's auth (the admin).",
      body: {
        sku: "{{run_tag}}",
        name: "Postman masala chai, 250 g",
        price: 19900,
        currency: "INR",
        category: "grocery",
        tags: ["{{run_tag}}"],
        stock: 5,
      },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const product = pm.response.json();
pm.test('the product as sent', () => {
    pm.expect(product.sku).to.eql(pm.environment.get('run_tag').toUpperCase());
    pm.expect(product.price).to.eql(19900);
    pm.expect(product.currency).to.eql('INR');
    pm.expect(product.stock).to.eql(5);
});
pm.environment.set('product_id', product.id);`,
    }),
    flowRequest({
      name: "13. List products by tag",
      method: "GET",
      route: "/api/v1/products",
      query: [
        ["tag", "{{run_tag}}"],
        ["limit", "10"],
      ],
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const page = pm.response.json();
pm.test('the new product is listed', () => {
    pm.expect(page.items.map((p) => p.id)).to.include(pm.environment.get('product_id'));
    pm.expect(page.limit).to.eql(10);
});`,
    }),
    flowRequest({
      name: "14. The customer places an order",
      method: "POST",
      route: "/api/v1/orders",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      body: { items: [{ product_id: "{{product_id}}", quantity: 2 }], notes: "Postman flow" },
      tests: String.raw`pm.test('201 Created', () => pm.response.to.have.status(201));
const order = pm.response.json();
pm.test('pending payment, with GST on top', () => {
    pm.expect(order.status).to.eql('pending_payment');
    pm.expect(order.user_id).to.eql(pm.environment.get('customer_id'));
    pm.expect(order.subtotal).to.eql(2 * 19900);
    pm.expect(order.total).to.eql(order.subtotal + order.tax);
});
pm.environment.set('order_id', order.id);
pm.environment.set('order_total', String(order.total));`,
    }),
    flowRequest({
      name: "15. The customer opens checkout",
      method: "POST",
      route: "/api/v1/orders/{{order_id}}/payments",
      auth: customer,
      headers: [["Idempotency-Key", "{{$guid}}"]],
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const checkout = pm.response.json();
pm.test('Razorpay Checkout options for the whole order', () => {
    pm.expect(checkout.order_id).to.eql(pm.environment.get('order_id'));
    pm.expect(checkout.amount).to.eql(Number(pm.environment.get('order_total')));
    pm.expect(checkout.currency).to.eql('INR');
    pm.expect(checkout.razorpay_order_id).to.be.a('string').and.not.empty;
});
pm.environment.set('razorpay_order_id', checkout.razorpay_order_id);`,
    }),
    flowRequest({
      name: "16. Pay (the fake Razorpay delivers the webhooks)",
      method: "POST",
      url: "{{payUrl}}",
      auth: NOAUTH,
      description:
        "The customer pays the Razorpay order, and Razorpay's signed webhooks reach the receiver: by default " +
        "a development server's fake Razorpay; in a production test run, the Razorpay stand-in.",
      tests: String.raw`pm.test('200 OK: paid, and the webhooks were accepted', () => pm.response.to.have.status(200));`,
    }),
    flowRequest({
      name: "17. The order is paid",
      method: "GET",
      route: "/api/v1/orders/{{order_id}}",
      auth: customer,
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
const order = pm.response.json();
pm.test('paid, and the capture is in the ledger', () => {
    pm.expect(order.status).to.eql('paid');
    pm.expect(order.captured).to.eql(order.total);
    pm.expect(order.ledger.filter((e) => e.kind === 'capture')).to.have.lengthOf(1);
});
// Make the admin's access token look expired: the next request's collection script refreshes it.
pm.environment.set('previous_access_token', pm.environment.get('access_token'));
pm.environment.set('access_token_expires_at', '0');`,
    }),
    flowRequest({
      name: "18. The collection refreshed the admin's token",
      method: "GET",
      route: "/api/v1/users/me",
      description: "The previous request marked the token expired; the collection's script refreshed it.",
      tests: String.raw`pm.test('200 OK', () => pm.response.to.have.status(200));
pm.test('a new access token, still the admin', () => {
    pm.expect(pm.environment.get('access_token')).to.not.eql(pm.environment.get('previous_access_token'));
    pm.expect(Number(pm.environment.get('access_token_expires_at'))).to.be.above(Date.now());
    pm.expect(pm.response.json().roles).to.include('admin');
});`,
    }),
    ...storefrontSteps(customer),
  ];
  return {
    id: stableId("Flows"),
    name: "Flows",
    description:
      "The main journey with assertions, in order: a new phone signs up by code (OTP from the dev messages) → " +
      "sets a password and signs in with it → Sign in with Google (an ID token for a new Google account → " +
      "phone required → a code to a new phone → signed in, the email verified → the same token signs in " +
      "directly) → the admin creates and lists products → the customer orders → checkout → payment and " +
      "webhooks → paid → the storefront: a saved address, a coupon, the cart priced for the address, checkout " +
      "from the cart paid by Razorpay → packed → shipped → delivered, and again by cash on delivery (the code " +
      "from the SMS confirms it) → shipped → delivered → cash collected. Needs a development server (the dev routes), or messagesUrl and payUrl pointing at " +
      "providers that record SMS and take payments; the Google steps need idTokenUrl (a Google stand-in " +
      "whose keys the server trusts) and are skipped without it.",
    item: items,
  };
}

// ---- Post-processing ------------------------------------------------------------------------------

// Operations whose example runs as the Flows' customer (`customer_token`) instead of the
// collection's admin, and why: method + Postman path → the note added to its description.
const AS_FLOWS_CUSTOMER = {
  "DELETE api/v1/users/me":
    "In this collection it runs as the Flows' customer (`customer_token`), not the admin: erasing the " +
    "admin's account would end its sessions and sign the rest of the run (and the suites after it) out.",
  "PUT api/v1/users/me/password":
    "In this collection it runs as the Flows' customer (`customer_token`), not the admin: its example's " +
    "`current_password` is not the admin's, and wrong ones count towards the admin's sign-in lockout.",
};

function postProcess(collection, publicOps) {
  const walk = (items, trail) => {
    const seen = new Map();
    for (const item of items) {
      const base = `${trail}/${item.name}`;
      const n = (seen.get(base) || 0) + 1;
      seen.set(base, n);
      const key = n > 1 ? `${base}#${n}` : base;
      item.id = stableId(key);
      if (item.item) {
        walk(item.item, key);
        continue;
      }
      const request = item.request;
      const customerOnly = AS_FLOWS_CUSTOMER[requestKey(request)];
      request.auth = publicOps.has(requestKey(request)) ? NOAUTH : customerOnly ? bearer("customer_token") : null;
      if (request.auth === null) delete request.auth; // inherit the collection's bearer
      if (customerOnly) {
        const said = typeof request.description === "string" ? request.description : request.description?.content || "";
        request.description = `${said}\n\n${customerOnly}`.trim();
      }
      // Keep the success examples; the error ones are the same problem document every time.
      item.response = (item.response || []).filter((r) => r.code >= 200 && r.code < 300);
      item.response.forEach((r, i) => {
        r.id = stableId(`${key}/response/${i}`);
      });
    }
  };
  walk(collection.item, "");

  collection.info._postman_id = stableId("collection");
  collection.info.name = "Bazaar API";
  collection.info.description = {
    content:
      `${collection.info.description?.content || ""}\n\n` +
      "Generated from openapi/openapi.yaml by `make postman` (postman/generate.js); do not edit by hand.\n" +
      "Requests sign in with the environment's adminPhone/adminPassword once and reuse the bearer token, " +
      "refreshing it before it expires. The Flows folder runs the main journey with assertions.",
    type: "text/markdown",
  };
  collection.auth = bearer("access_token");
  collection.event = [script("prerequest", [AUTH_SCRIPT], "collection"), script("test", [RESPONSE_SCRIPT], "collection")];
  collection.variable = [{ key: "baseUrl", value: "http://127.0.0.1:8080", type: "string" }];
  collection.item = [flowsFolder(), ...collection.item];
  return collection;
}

function environment() {
  const values = [
    ["baseUrl", "http://127.0.0.1:8080", "default"],
    ["adminPhone", "+919999999999", "default"],
    ["adminPassword", "", "secret"],
    ["access_token", "", "secret"],
    ["refresh_token", "", "secret"],
    ["access_token_expires_at", "", "default"],
    // Where the Flows read the OTP and pay; a production test run points them at its stand-ins.
    ["messagesUrl", "{{baseUrl}}/api/v1/dev/messages", "default"],
    ["payUrl", "{{baseUrl}}/api/v1/dev/payments/{{razorpay_order_id}}/capture", "default"],
    // Where the Google steps mint ID tokens (POST {email, name, email_verified, sub} → {id_token}):
    // no development route does, so empty (the steps are skipped) unless a test run sets it.
    ["idTokenUrl", "", "default"],
    // The server's OTP cooldown (BAZAAR_OTP_COOLDOWN_SECS, 30 s by default) in ms, plus a margin:
    // the COD code goes to the phone the sign-up code went to, so step 32 waits it out.
    ["otpCooldownMs", "31000", "default"],
  ];
  return {
    id: stableId("environment/local"),
    name: "Bazaar (local)",
    values: values.map(([key, value, type]) => ({ key, value, type, enabled: true })),
    _postman_variable_scope: "environment",
  };
}

function write(file, data) {
  fs.writeFileSync(file, `${JSON.stringify(sortKeys(data), null, 2)}\n`);
}

async function main() {
  const i = process.argv.indexOf("--out-dir");
  const outDir = i > 0 ? path.resolve(process.argv[i + 1]) : __dirname;
  const specText = fs.readFileSync(SPEC, "utf8");
  const collection = postProcess(await convert(specText), publicOperations(specText));
  fs.mkdirSync(outDir, { recursive: true });
  write(path.join(outDir, COLLECTION_FILE), collection);
  write(path.join(outDir, ENVIRONMENT_FILE), environment());
  console.log(`wrote ${path.relative(process.cwd(), path.join(outDir, COLLECTION_FILE)) || COLLECTION_FILE} and ${ENVIRONMENT_FILE}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
