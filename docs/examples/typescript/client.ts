// A small typed client for Bazaar: plain `fetch`, typed by the contract.
//
// `generated/api.d.ts` comes from openapi/openapi.yaml (`npm run generate`, or `make test`,
// which then type-checks this file with `tsc --strict`). Every path, parameter, request body
// and answer below is checked against it: if the contract changes shape in a way that breaks
// this code, `make test` fails.

import type { components, paths } from "./generated/api.js";

export type Schemas = components["schemas"];
export type TokenPair = Schemas["TokenPair"];
export type OtpVerified = Schemas["OtpVerified"];
export type OidcSignIn = Schemas["OidcSignIn"];
export type Product = Schemas["Product"];
export type ProductInput = Schemas["ProductInput"];
export type ProductList = Schemas["ProductList"];
export type Order = Schemas["Order"];
export type OrderInput = Schemas["OrderInput"];
export type Checkout = Schemas["Checkout"];
export type Cart = Schemas["Cart"];
export type SavedAddress = Schemas["SavedAddress"];
export type SavedAddressInput = Schemas["SavedAddressInput"];
export type CheckoutInput = Schemas["CheckoutInput"];
export type CouponInput = Schemas["CouponInput"];
export type CouponBody = Schemas["CouponBody"];
export type StatusInput = Schemas["StatusInput"];
export type Problem = Schemas["Problem"];

// ---- Typing a request from `paths` -------------------------------------------------------

type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** The operation at `path` for `method` (never when the contract has none). */
type Operation<P extends keyof paths, M extends HttpMethod> = Exclude<paths[P][M], undefined>;

/** The paths that have an operation for `method`. */
type PathsFor<M extends HttpMethod> = {
  [P in keyof paths]: [Operation<P, M>] extends [never] ? never : P;
}[keyof paths];

type PathParams<O> = O extends { parameters: { path: infer X } } ? { path: X } : { path?: undefined };
type QueryParams<O> = O extends { parameters: { query?: infer Q } }
  ? [Exclude<Q, undefined>] extends [never]
    ? { query?: undefined }
    : { query?: Exclude<Q, undefined> }
  : { query?: undefined };
type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? { body: B }
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? { body?: B }
    : { body?: undefined };

/** What a call takes: its path and query parameters, its JSON body, and call options. */
export type RequestOptions<O> = PathParams<O> &
  QueryParams<O> &
  JsonBody<O> & {
    /** Send an `Idempotency-Key` (a random UUID per action; the same one when retrying it). */
    idempotencyKey?: string;
    /** Do not send the bearer token even when signed in. */
    anonymous?: boolean;
  };

type ContentOf<R> = R extends { content: infer C } ? C[keyof C] : undefined;
type SuccessCode = 200 | 201 | 202 | 204;
/** The JSON body of the operation's success answer (undefined for one with no body). */
export type SuccessBody<O> = O extends { responses: infer R } ? ContentOf<R[Extract<keyof R, SuccessCode>]> : never;

/** A non-2xx answer: an RFC 9457 problem document (`code`, `errors[]`, `retryable`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem ? `${status} ${problem.code}: ${problem.detail}` : `HTTP ${status}`);
  }
}

// ---- The client ----------------------------------------------------------------------------

export class BazaarClient {
  private tokens: TokenPair | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(readonly baseUrl: string) {}

  /** The signed-in user, if any. */
  get user(): TokenPair["user"] | undefined {
    return this.tokens?.user;
  }

  /**
   * One typed call: `method` and `path` pick the operation from the contract, which types
   * `options` (path/query parameters, body) and the answer. A 401 with a session refreshes
   * the tokens once and retries; any other non-2xx throws ApiError.
   */
  async request<M extends HttpMethod, P extends PathsFor<M>>(
    method: M,
    path: P,
    options: RequestOptions<Operation<P, M>>,
  ): Promise<SuccessBody<Operation<P, M>>> {
    const send = () => this.send(method, path, options);
    let response = await send();
    if (response.status === 401 && this.tokens && !options.anonymous) {
      await this.refresh();
      response = await send();
    }
    return this.read<SuccessBody<Operation<P, M>>>(response);
  }

  private async send(
    method: HttpMethod,
    path: string,
    options: { path?: unknown; query?: unknown; body?: unknown; idempotencyKey?: string; anonymous?: boolean },
  ): Promise<Response> {
    let url = path;
    for (const [name, value] of Object.entries((options.path ?? {}) as Record<string, unknown>)) {
      url = url.replace(`{${name}}`, encodeURIComponent(String(value)));
    }
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries((options.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) query.append(name, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    if (this.tokens && !options.anonymous) headers.authorization = `Bearer ${this.tokens.access_token}`;
    const search = query.size > 0 ? `?${query}` : "";
    return fetch(new URL(url + search, this.baseUrl), {
      method: method.toUpperCase(),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, json as Problem | undefined);
    return json as T;
  }

  // ---- Auth ------------------------------------------------------------------------------

  /** Sign in with a phone (or email) and password; later calls carry the access token. */
  async signIn(identifier: string, password: string): Promise<TokenPair> {
    this.tokens = await this.request("post", "/api/v1/auth/login", {
      body: { identifier, password, device: "bazaar-example-client" },
      anonymous: true,
    });
    return this.tokens;
  }

  /**
   * Phone-first sign-in, step one: a six-digit code by SMS. Any valid number gets one; the
   * first correct use of a code for a number without an account creates the account.
   */
  async sendSignInCode(phone: string): Promise<void> {
    await this.request("post", "/api/v1/auth/otp/send", { body: { phone, purpose: "login" }, anonymous: true });
  }

  /**
   * Step two: the code signs in, or signs up (give `name` for a new account: without it the
   * answer is a 422 on `name`, and the same code can be sent again with one).
   */
  async signInWithCode(phone: string, code: string, name?: string): Promise<OtpVerified> {
    const verified = await this.request("post", "/api/v1/auth/otp/verify", {
      body: { phone, purpose: "login", code, name, device: "bazaar-example-client" },
      anonymous: true,
    });
    this.tokens = verified.tokens;
    return verified;
  }

  /**
   * Sign in with Google: post the ID token Google handed the page (Google Identity Services'
   * `credential`, or a mobile SDK's `idToken`). A linked Google account, or one whose verified
   * email is an account's verified email, signs in (`outcome: "signed_in"`). Otherwise the
   * answer is `outcome: "phone_required"` (accounts are phone-first): send a code with
   * `sendSignInCode(phone)` and call this again with the same token and `{ phone, code }`,
   * which links the phone's account (or creates one, named and emailed from the token) and
   * signs in. Later calls carry the access token once signed in.
   */
  async signInWithGoogle(idToken: string, proof?: { phone: string; code: string }, nonce?: string): Promise<OidcSignIn> {
    const answer = await this.request("post", "/api/v1/auth/oidc/{provider}", {
      path: { provider: "google" },
      body: { id_token: idToken, nonce, phone_proof: proof, device: "bazaar-example-client" },
      anonymous: true,
    });
    if (answer.outcome === "signed_in") {
      if (!answer.tokens) throw new Error("signed in without tokens");
      this.tokens = answer.tokens;
    }
    return answer;
  }

  /** Set a first password (soon after a sign-in by code) or change it (name the current one). */
  async setPassword(newPassword: string, currentPassword?: string): Promise<void> {
    await this.request("put", "/api/v1/users/me/password", {
      body: { new_password: newPassword, current_password: currentPassword },
    });
  }

  /** Replace both tokens (a refresh token works once; concurrent callers share one refresh). */
  async refresh(): Promise<void> {
    const current = this.tokens;
    if (!current) throw new Error("not signed in");
    this.refreshing ??= this.request("post", "/api/v1/auth/refresh", {
      body: { refresh_token: current.refresh_token },
      anonymous: true,
    })
      .then((tokens) => {
        this.tokens = tokens;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  // ---- Catalog ---------------------------------------------------------------------------

  listProducts(query: RequestOptions<Operation<"/api/v1/products", "get">>["query"] = {}): Promise<ProductList> {
    return this.request("get", "/api/v1/products", { query });
  }

  getProduct(id: string): Promise<Product> {
    return this.request("get", "/api/v1/products/{id}", { path: { id } });
  }

  /** Needs `products:write` (catalog managers and admins). */
  createProduct(input: ProductInput): Promise<Product> {
    return this.request("post", "/api/v1/products", { body: input });
  }

  // ---- Orders and checkout ---------------------------------------------------------------

  createOrder(input: OrderInput, idempotencyKey: string = crypto.randomUUID()): Promise<Order> {
    return this.request("post", "/api/v1/orders", { body: input, idempotencyKey });
  }

  getOrder(id: string): Promise<Order> {
    return this.request("get", "/api/v1/orders/{id}", { path: { id } });
  }

  /** The options to open Razorpay Checkout with. */
  createPayment(orderId: string, idempotencyKey: string = crypto.randomUUID()): Promise<Checkout> {
    return this.request("post", "/api/v1/orders/{id}/payments", { path: { id: orderId }, idempotencyKey });
  }

  // ---- Storefront: addresses, the cart, checkout ------------------------------------------

  /** Save a delivery address; India Post's directory fills district, state and GST state code. */
  saveAddress(input: SavedAddressInput, idempotencyKey: string = crypto.randomUUID()): Promise<SavedAddress> {
    return this.request("post", "/api/v1/users/me/addresses", { body: input, idempotencyKey });
  }

  /** The cart priced now; with `addressId` (or `pincode`) shipping and delivery are priced too. */
  getCart(where: { addressId?: string; pincode?: string } = {}): Promise<Cart> {
    return this.request("get", "/api/v1/cart", { query: { address_id: where.addressId, pincode: where.pincode } });
  }

  /** Set how many of a variant the cart holds (a product without options: its own id). */
  putCartItem(productId: string, quantity: number, variantId: string = productId): Promise<Cart> {
    return this.request("put", "/api/v1/cart/items/{variant_id}", {
      path: { variant_id: variantId },
      body: { product_id: productId, quantity },
    });
  }

  /** Put a coupon on the cart; a code that does not apply is a 422 on `coupon_code` saying why. */
  applyCoupon(code: string): Promise<Cart> {
    return this.request("put", "/api/v1/cart/coupon", { body: { code } });
  }

  /**
   * Place the cart as an order. Pass the total the customer was shown as `expected_total`:
   * if the cart now comes to something else the answer is 409 `price_changed`, not a surprise.
   */
  checkout(input: CheckoutInput, idempotencyKey: string = crypto.randomUUID()): Promise<Order> {
    return this.request("post", "/api/v1/cart/checkout", { body: input, idempotencyKey });
  }

  /** Confirm a cash-on-delivery order with the code sent to the customer's phone. */
  confirmCod(orderId: string, code: string): Promise<Order> {
    return this.request("post", "/api/v1/orders/{id}/actions/confirm-cod", { path: { id: orderId }, body: { code } });
  }

  // ---- Staff -------------------------------------------------------------------------------

  /** Needs `coupons:manage`. */
  createCoupon(input: CouponInput): Promise<CouponBody> {
    return this.request("post", "/api/v1/admin/coupons", { body: input });
  }

  /** Staff move an order along: packed, shipped (with the shipment), delivered. */
  setOrderStatus(orderId: string, input: StatusInput): Promise<Order> {
    return this.request("put", "/api/v1/orders/{id}/status", { path: { id: orderId }, body: input });
  }

  /** Staff record the cash a courier collected for a COD order. */
  collectCod(orderId: string, reference?: string): Promise<Order> {
    return this.request("post", "/api/v1/orders/{id}/actions/collect-cod", { path: { id: orderId }, body: { reference } });
  }
}
