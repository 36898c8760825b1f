"""Local stand-ins for Razorpay, MSG91 and SendGrid that speak the providers' HTTP APIs.

The production-profile contract run points Bazaar's real adapters at these through their
base-URL settings (BAZAAR_RAZORPAY_BASE_URL, BAZAAR_MSG91_BASE_URL, BAZAAR_SENDGRID_BASE_URL),
so every request the adapters make crosses HTTP and is checked as the provider checks it: the
credentials, the documented request shape (MSG91's query string, flow body and WhatsApp
send-template body, SendGrid's Mail Send body, Razorpay's integer paise, receipts, notes and refund idempotency keys) and
the documented answers, including the traps (MSG91 reports errors as HTTP 200 with
`{"type":"error"}`, SendGrid answers 202 with an empty body and `X-Message-Id`, Razorpay
writes empty `notes` as `[]`). A request the real provider would refuse is refused here,
with the provider's error body; nothing is accepted silently. The facts come from
/work/shared/contracts/{razorpay,msg91,sendgrid}.md.

Each stand-in also has a few test-only routes under `/_stub/`, which the real providers do not
have and Bazaar never calls:

- MSG91 `GET /_stub/messages` and SendGrid `GET /_stub/messages`: what was sent, in the shape
  of a development server's `GET /api/v1/dev/messages` (`channel`, `to`, `purpose`, `code`,
  `data`), so suites read an OTP in production as they do in development. MSG91 never learns
  why a code was sent, so an OTP's `purpose` is `otp`; a flow's is its flow id, a WhatsApp
  message's its template name, an email's its template id.
- Razorpay `POST /_stub/orders/{order_id}/pay`: a customer pays the order in full on Checkout
  (automatic capture). The order becomes `paid`, and the webhooks Razorpay sends for it
  (`payment.authorized`, `payment.captured`, `order.paid`) are POSTed to Bazaar's receiver,
  signed with the webhook secret, each with its own `X-Razorpay-Event-Id`. The answer is what
  Checkout hands the browser (`razorpay_order_id`, `razorpay_payment_id`, `razorpay_signature`)
  and each delivery's status; it is 502 when Bazaar refused a delivery.

Refund webhooks are not sent: Bazaar records a refund from the API's answer.

Google (`Google`, an OpenID Connect issuer) is a stand-in of another kind: Bazaar never calls
it but to fetch its keys, and it runs in both profiles (Google sign-in needs an ID token
signed by a key the server trusts, which no development route can give). It serves a
discovery document (`GET /.well-known/openid-configuration`) and a JSON Web Key Set
(`GET /oauth2/v3/certs`, `Cache-Control: max-age` as Google's) publishing `test-key-1` of
tests/support/oidc/, and signs ID tokens for the suites with that key's private half (RS256,
PyJWT with `cryptography`, pinned in run.py):

- `POST /_stub/id-token` with `{email, name?, email_verified?, sub?, nonce?}` answers
  `{id_token}`: what Google Identity Services would hand the page for that Google account
  (`iss` the stand-in, `aud`/`azp` its client id, issued now for an hour; `email_verified`
  true and a fresh 21-digit `sub` unless given).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# MSG91 numbers: country code and subscriber number, digits only (no `+`).
MSG91_MOBILE = re.compile(r"^[1-9][0-9]{9,14}$")


def razorpay_id(prefix):
    """`order_…`, `pay_…`, `rfnd_…`: a prefix and 14 base62 characters, as Razorpay's ids."""
    return prefix + "_" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(14))


def hmac_hex(secret, message):
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Answer(Exception):
    """Ends a request with `status`, a JSON `body` (None: empty) and extra `headers`."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def refusal(body):
    """What a refusal said, for the log (MSG91 refuses with HTTP 200)."""
    if isinstance(body, dict) and body.get("type") == "error":
        return f" (error: {body.get('message')})"
    if isinstance(body, dict) and (body.get("errors") or body.get("error")):
        return f" ({json.dumps(body.get('errors') or body.get('error'))[:200]})"
    return ""


class Stub:
    """One provider on its own port: `handle(method, path, query, headers, body)` answers."""

    name = "stub"

    def __init__(self, log):
        self.lock = threading.Lock()
        self.log = log
        self.server = None

    def start(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    stub.handle(self.command, url.path, query, self.headers, raw)
                    answer = Answer(500, {"error": "the stub did not answer"})
                except Answer as a:
                    answer = a
                body = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                if answer.body is not None:
                    self.send_header("content-type", "application/json")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                stub.log(f"{stub.name}: {self.command} {url.path} -> {answer.status}{refusal(answer.body)}")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

            def log_message(self, *args):  # the stub's own log line says enough
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, method, path, query, headers, raw):
        raise NotImplementedError


def json_body(raw, refuse):
    """The request's JSON object, or `refuse(message)`."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        refuse("the body is not JSON")
    if not isinstance(body, dict):
        refuse("the body must be a JSON object")
    return body


# ---- MSG91 (API v5) ---------------------------------------------------------------------------


class Msg91(Stub):
    """`POST /api/v5/otp`, `GET /api/v5/otp/retry`, `POST /api/v5/flow/` and
    `POST /api/v5/whatsapp/whatsapp-outbound-message/bulk/` with the `authkey` header; every
    refusal is HTTP 200 with `{"type":"error"}` (WhatsApp's `{"status":"fail","hasError":true}`),
    as MSG91 answers."""

    name = "msg91"

    def __init__(self, log, authkey, template_id, whatsapp_number):
        super().__init__(log)
        self.authkey, self.template_id = authkey, template_id
        self.whatsapp_number = whatsapp_number
        self.messages = []

    @property
    def base_url(self):
        return f"{self.origin}/api/v5"

    def handle(self, method, path, query, headers, raw):
        if (method, path) == ("GET", "/_stub/messages"):
            with self.lock:
                raise Answer(200, list(self.messages))
        if headers.get("authkey") != self.authkey:
            error("AuthenticationFailure")
        route = (method, path.removeprefix("/api/v5").rstrip("/") or "/")
        if route == ("POST", "/otp"):
            self.send_otp(query)
        elif route == ("GET", "/otp/retry"):
            self.retry(query)
        elif route == ("POST", "/flow"):
            self.flow(json_body(raw, error))
        elif route == ("POST", "/whatsapp/whatsapp-outbound-message/bulk"):
            self.whatsapp(json_body(raw, whatsapp_error))
        raise Answer(404, {"type": "error", "message": "Not Found"})

    def record(self, message):
        with self.lock:
            self.messages.append(message)

    def send_otp(self, query):
        mobile, otp = query.get("mobile", ""), query.get("otp", "")
        if query.get("template_id") != self.template_id:
            error("Invalid template id")
        if not MSG91_MOBILE.match(mobile):
            error("Mobile no. not found")
        if not re.fullmatch(r"[0-9]{4,9}", otp):
            error("Invalid OTP")
        if "otp_expiry" in query and not re.fullmatch(r"[1-9][0-9]*", query["otp_expiry"]):
            error("Invalid otp_expiry")
        self.record({"channel": "sms", "to": "+" + mobile, "purpose": "otp", "code": otp})
        raise Answer(200, {"type": "success", "request_id": secrets.token_hex(12)})

    def retry(self, query):
        mobile = query.get("mobile", "")
        if query.get("retrytype") not in ("text", "voice"):
            error("Invalid retrytype")
        with self.lock:
            known = any(m["to"] == "+" + mobile and "code" in m for m in self.messages)
        if not known:
            error("No OTP request found for this mobile")
        channel = "voice" if query["retrytype"] == "voice" else "sms"
        self.record({"channel": channel, "to": "+" + mobile, "purpose": "voice_retry"})
        raise Answer(200, {"type": "success", "message": "retry send successfully"})

    def flow(self, body):
        recipients = body.get("recipients")
        if not isinstance(body.get("flow_id"), str) or not body["flow_id"].strip():
            error("flow_id is required")
        if not isinstance(recipients, list) or not recipients:
            error("recipients are required")
        for recipient in recipients:
            mobile = recipient.get("mobiles") if isinstance(recipient, dict) else None
            if not isinstance(mobile, str) or not MSG91_MOBILE.match(mobile):
                error("Mobile no. not found")
            variables = {k: v for k, v in recipient.items() if k != "mobiles"}
            self.record({"channel": "sms", "to": "+" + mobile, "purpose": body["flow_id"],
                         "data": json.dumps(variables, sort_keys=True)})
        raise Answer(200, {"type": "success", "message": secrets.token_hex(12)})


    def whatsapp(self, body):
        """A template message: the registered number, an approved template by name and
        language, recipients without `+`, positional `body_N` text components."""
        payload = body.get("payload")
        template = payload.get("template") if isinstance(payload, dict) else None
        if body.get("integrated_number") != self.whatsapp_number:
            whatsapp_error("integrated_number is not registered with this account")
        if body.get("content_type") != "template" or not isinstance(template, dict):
            whatsapp_error("content_type must be template, with payload.template")
        if payload.get("messaging_product") != "whatsapp" or payload.get("type") != "template":
            whatsapp_error("payload.messaging_product must be whatsapp and type template")
        name = template.get("name")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,512}", name):
            whatsapp_error("template name is required (lowercase, digits, underscores)")
        if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", code):
            whatsapp_error("template language code is required")
        recipients = template.get("to_and_components")
        if not isinstance(recipients, list) or not recipients:
            whatsapp_error("to_and_components is required")
        for recipient in recipients:
            to = recipient.get("to") if isinstance(recipient, dict) else None
            components = recipient.get("components", {}) if isinstance(recipient, dict) else None
            if not isinstance(to, list) or not to or not all(
                isinstance(m, str) and MSG91_MOBILE.match(m) for m in to
            ):
                whatsapp_error("to must list numbers with country code, without +")
            if not isinstance(components, dict):
                whatsapp_error("components must be an object")
            body_values = []
            for i in range(1, len(components) + 1):
                part = components.get(f"body_{i}")
                if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(
                    part.get("value"), str
                ):
                    whatsapp_error(f"body_{i} must be a text component")
                body_values.append(part["value"])
            for mobile in to:
                data = {"template": name, "language": code, "body": body_values}
                self.record({"channel": "whatsapp", "to": "+" + mobile, "purpose": name,
                             "data": json.dumps(data, sort_keys=True)})
        raise Answer(200, {"status": "success", "hasError": False,
                           "data": "Message sent successfully", "errors": None,
                           "request_id": secrets.token_hex(12)})


def error(message):
    """MSG91's refusal: HTTP 200, `type` error."""
    raise Answer(200, {"type": "error", "message": message})


def whatsapp_error(message):
    """MSG91's WhatsApp refusal: HTTP 200 with `hasError` (never taken for success)."""
    raise Answer(200, {"status": "fail", "hasError": True, "errors": message, "data": None})


# ---- SendGrid (v3 Mail Send) ------------------------------------------------------------------


class SendGrid(Stub):
    """`POST /v3/mail/send` with `Authorization: Bearer <key>`: 202, an empty body and
    `X-Message-Id`; 200 in sandbox mode; `{"errors":[{message, field, help}]}` otherwise."""

    name = "sendgrid"

    def __init__(self, log, api_key):
        super().__init__(log)
        self.api_key = api_key
        self.messages = []

    @property
    def base_url(self):
        return self.origin

    def handle(self, method, path, query, headers, raw):
        if (method, path) == ("GET", "/_stub/messages"):
            with self.lock:
                raise Answer(200, list(self.messages))
        if path != "/v3/mail/send":
            refuse(404, None, "not found")
        if method != "POST":
            refuse(405, None, "method not allowed")
        if headers.get("authorization") != f"Bearer {self.api_key}":
            refuse(401, None, "The provided authorization grant is invalid, expired, or revoked")
        if not (headers.get("content-type") or "").startswith("application/json"):
            refuse(415, None, "Content-Type should be application/json.")
        body = json_body(raw, lambda message: refuse(400, None, message))
        recipients = self.check(body)
        sandbox = (body.get("mail_settings") or {}).get("sandbox_mode", {}).get("enable") is True
        if not sandbox:
            with self.lock:
                for to, data in recipients:
                    self.messages.append({"channel": "email", "to": to, "purpose": body["template_id"],
                                          "data": json.dumps(data, sort_keys=True)})
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        raise Answer(200 if sandbox else 202, None, {"X-Message-Id": message_id})

    @staticmethod
    def check(body):
        """The recipients and template data of a valid Mail Send body; 400 otherwise."""
        personalizations = body.get("personalizations")
        if not isinstance(personalizations, list) or not 1 <= len(personalizations) <= 1000:
            refuse(400, "personalizations", "The personalizations field is required and must have at least one personalization.")
        recipients = []
        for i, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to:
                refuse(400, f"personalizations.{i}.to", "The to array is required for all personalization objects, and must have at least one email object with a valid email address.")
            for j, address in enumerate(to):
                email = address.get("email") if isinstance(address, dict) else None
                if not isinstance(email, str) or not EMAIL.match(email):
                    refuse(400, f"personalizations.{i}.to.{j}.email", "Does not contain a valid address.")
                recipients.append((email, p.get("dynamic_template_data")))
        sender = body.get("from")
        if not isinstance(sender, dict) or not EMAIL.match(str(sender.get("email", ""))):
            refuse(400, "from.email", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.")
        template = body.get("template_id")
        if template is None and not body.get("content"):
            refuse(400, "content", "Unless a valid template_id is provided, the content parameter is required.")
        if template is not None and not (isinstance(template, str) and template.startswith("d-")):
            refuse(400, "template_id", "The template_id must be a valid dynamic template id (d-...).")
        return recipients


def refuse(status, field, message):
    """SendGrid's error body."""
    raise Answer(status, {"errors": [{"message": message, "field": field, "help": None}]})


# ---- Razorpay (REST API v1) -------------------------------------------------------------------


class Razorpay(Stub):
    """Orders, payments, captures and refunds behind HTTP Basic `key_id:key_secret`, with
    Razorpay's error body `{"error":{"code","description","field",…}}`."""

    name = "razorpay"

    def __init__(self, log, key_id, key_secret, webhook_secret, webhook_url):
        super().__init__(log)
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.webhook_url = webhook_url
        self.orders, self.payments, self.refunds = {}, {}, {}
        # X-Refund-Idempotency -> (the request body, the refund id)
        self.refund_keys = {}

    @property
    def base_url(self):
        return f"{self.origin}/v1"

    def pay_url(self):
        """The test-only route that pays an order; `{razorpay_order_id}` is its placeholder."""
        return f"{self.origin}/_stub/orders/{{razorpay_order_id}}/pay"

    def handle(self, method, path, query, headers, raw):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["_stub", "orders"] and len(parts) == 4 and parts[3] == "pay" and method == "POST":
            self.pay(parts[2])
        expected = "Basic " + base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if headers.get("authorization") != expected:
            raise Answer(401, {"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed",
                                         "field": None, "source": None, "step": None, "reason": None,
                                         "metadata": {}}})
        if parts[:1] != ["v1"]:
            bad("The requested URL was not found on the server.")
        with self.lock:
            self.route(method, parts[1:], query, headers, raw)

    def route(self, method, parts, query, headers, raw):
        match (method, parts):
            case ("POST", ["orders"]):
                self.create_order(json_body(raw, bad))
            case ("GET", ["orders"]):
                count = query.get("count", "10")
                if not count.isdigit() or not 1 <= int(count) <= 100:
                    bad("The count must be between 1 and 100.", "count")
                items = [o for o in self.orders.values()
                         if "receipt" not in query or o["receipt"] == query["receipt"]]
                raise Answer(200, collection(items[: int(count)]))
            case ("GET", ["orders", order_id]):
                raise Answer(200, self.known(self.orders, order_id))
            case ("GET", ["orders", order_id, "payments"]):
                self.known(self.orders, order_id)
                raise Answer(200, collection([p for p in self.payments.values() if p["order_id"] == order_id]))
            case ("GET", ["payments", payment_id]):
                raise Answer(200, self.known(self.payments, payment_id))
            case ("POST", ["payments", payment_id, "capture"]):
                self.capture(self.known(self.payments, payment_id), json_body(raw, bad))
            case ("POST", ["payments", payment_id, "refund"]):
                self.refund(self.known(self.payments, payment_id), json_body(raw, bad),
                            headers.get("x-refund-idempotency"))
            case ("GET", ["payments", payment_id, "refunds", refund_id]):
                refund = self.known(self.refunds, refund_id)
                if refund["payment_id"] != payment_id:
                    bad("The id provided does not exist")
                raise Answer(200, refund)
        bad("The requested URL was not found on the server.")

    @staticmethod
    def known(entities, entity_id):
        if entity_id not in entities:
            bad("The id provided does not exist")
        return entities[entity_id]

    def create_order(self, body):
        amount, currency = body.get("amount"), body.get("currency")
        if type(amount) is not int or amount < 100:
            bad("The amount must be atleast INR 1.00.", "amount")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            bad("The currency field is invalid.", "currency")
        receipt, notes = receipt_and_notes(body)
        order = {
            "id": razorpay_id("order"), "entity": "order", "amount": amount, "amount_paid": 0,
            "amount_due": amount, "currency": currency, "receipt": receipt, "offer_id": None,
            "status": "created", "attempts": 0, "notes": notes or [], "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        raise Answer(200, order)

    def capture(self, payment, body):
        if payment["status"] != "authorized":
            bad("This payment has already been captured" if payment["captured"]
                else "Only payments which have been authorized and not yet captured can be captured")
        if body.get("amount") != payment["amount"]:
            bad("Capture amount must be equal to the amount authorized", "amount")
        if body.get("currency") != payment["currency"]:
            bad("The currency should be same as the payment currency", "currency")
        self.settle(payment)
        raise Answer(200, payment)

    def settle(self, payment):
        """Captures an authorised payment, and pays its order."""
        fee = (payment["amount"] * 236 + 5000) // 10000  # 2% plus 18% GST on it
        payment.update(status="captured", captured=True, fee=fee, tax=(fee * 18 + 59) // 118)
        order = self.orders[payment["order_id"]]
        order.update(status="paid", amount_paid=payment["amount"], amount_due=0)

    def refund(self, payment, body, key):
        if key is not None and not re.fullmatch(r"[A-Za-z0-9_-]{10,}", key):
            bad("The X-Refund-Idempotency header must be at least 10 characters of [A-Za-z0-9_-].")
        if key in self.refund_keys:
            first, refund_id = self.refund_keys[key]
            if first != body:
                bad("The same idempotency key was used with a different request.")
            raise Answer(200, self.refunds[refund_id])
        left = payment["amount"] - payment["amount_refunded"]
        amount = body.get("amount", left)
        if payment["status"] not in ("captured", "refunded"):
            bad("The payment has not been captured yet, so it cannot be refunded.")
        if type(amount) is not int or amount < 100:
            bad("The amount must be atleast INR 1.00.", "amount")
        if amount > left:
            bad("The refund amount provided is greater than amount captured", "amount")
        if body.get("speed", "normal") not in ("normal", "optimum"):
            bad("The selected speed is invalid.", "speed")
        receipt, notes = receipt_and_notes(body)
        refund = {
            "id": razorpay_id("rfnd"), "entity": "refund", "amount": amount,
            "currency": payment["currency"], "payment_id": payment["id"], "notes": notes or [],
            "receipt": receipt, "acquirer_data": {"arn": f"ARN{secrets.randbelow(10**12):012d}"},
            "created_at": int(time.time()), "batch_id": None, "status": "processed",
            "speed_requested": body.get("speed", "normal"), "speed_processed": "normal",
        }
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment.update(refund_status="full" if full else "partial", status="refunded" if full else "captured")
        self.refunds[refund["id"]] = refund
        if key is not None:
            self.refund_keys[key] = (body, refund["id"])
        raise Answer(200, refund)

    # ---- The customer's side (test-only) ------------------------------------------------------

    def pay(self, order_id):
        with self.lock:
            order = self.known(self.orders, order_id)
            if order["status"] == "paid":
                bad("Order has already been paid")
            payment = {
                "id": razorpay_id("pay"), "entity": "payment", "amount": order["amount_due"],
                "currency": order["currency"], "status": "authorized", "order_id": order_id,
                "method": "upi", "captured": False, "amount_refunded": 0, "refund_status": None,
                "email": "customer@example.in", "contact": "+919876543210", "notes": [],
                "fee": None, "tax": None, "error_code": None, "error_description": None,
                "error_source": None, "error_step": None, "error_reason": None,
                "acquirer_data": {"rrn": f"{secrets.randbelow(10**12):012d}"},
                "created_at": int(time.time()),
            }
            order.update(attempts=order["attempts"] + 1, status="attempted")
            self.payments[payment["id"]] = payment
            authorized = dict(payment)
            self.settle(payment)
            events = [
                ("payment.authorized", {"payment": {"entity": authorized}}),
                ("payment.captured", {"payment": {"entity": dict(payment)}}),
                ("order.paid", {"payment": {"entity": dict(payment)}, "order": {"entity": dict(order)}}),
            ]
        deliveries = [self.deliver(event, payload) for event, payload in events]
        signature = hmac_hex(self.key_secret, f"{order_id}|{payment['id']}".encode())
        refused = [d for d in deliveries if not 200 <= d["status"] < 300]
        raise Answer(502 if refused else 200, {
            "razorpay_order_id": order_id, "razorpay_payment_id": payment["id"],
            "razorpay_signature": signature, "webhooks": deliveries,
        })

    def deliver(self, event, payload):
        """POSTs one signed webhook to Bazaar's receiver; the event and the answer's status."""
        body = json.dumps({
            "entity": "event", "account_id": "acc_Stub00000001", "event": event,
            "contains": list(payload), "payload": payload, "created_at": int(time.time()),
        }).encode()
        request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers={
            "content-type": "application/json",
            "x-razorpay-signature": hmac_hex(self.webhook_secret, body),
            "x-razorpay-event-id": razorpay_id("evt"),
        })
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as e:
            status = e.code
        self.log(f"razorpay: webhook {event} -> {status}")
        return {"event": event, "status": status}


def collection(items):
    return {"entity": "collection", "count": len(items), "items": items}


def receipt_and_notes(body):
    """An order's or refund's `receipt` (at most 40 characters) and `notes` (at most 15 pairs,
    each at most 256 characters), as Razorpay limits them."""
    receipt = body.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
        bad("The receipt may not be greater than 40 characters.", "receipt")
    notes = body.get("notes")
    if notes is None or notes == []:
        return receipt, {}
    if not isinstance(notes, dict) or len(notes) > 15:
        bad("The notes may not have more than 15 items.", "notes")
    for key, value in notes.items():
        if len(key) > 256 or not isinstance(value, (str, int, float)) or len(str(value)) > 256:
            bad("The notes values may not be greater than 256 characters.", "notes")
    return receipt, notes


def bad(description, field=None):
    """Razorpay's refusal."""
    raise Answer(400, {"error": {"code": "BAD_REQUEST_ERROR", "description": description,
                                 "field": field, "source": "business", "step": "payment_initiation",
                                 "reason": "input_validation_failed", "metadata": {}}})


# ---- Google (an OpenID Connect issuer) ---------------------------------------------------------

OIDC_KEYS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support", "oidc")


class Google(Stub):
    """The discovery document, the key set and, test-only, `POST /_stub/id-token`: ID tokens
    signed RS256 with `test-key-1` (tests/support/oidc/key1.pem), the key the set publishes."""

    name = "google"
    kid = "test-key-1"
    client_id = "bazaar-contract.apps.googleusercontent.com"

    def __init__(self, log):
        super().__init__(log)
        with open(os.path.join(OIDC_KEYS, "key1.pem"), "rb") as f:
            self.private_key = f.read()
        with open(os.path.join(OIDC_KEYS, "jwks.json")) as f:
            self.jwks = {"keys": [k for k in json.load(f)["keys"] if k["kid"] == self.kid]}

    @property
    def issuer(self):
        return self.origin

    @property
    def jwks_url(self):
        return f"{self.origin}/oauth2/v3/certs"

    def id_token_url(self):
        return f"{self.origin}/_stub/id-token"

    def settings(self):
        """The BAZAAR_* settings that make this the server's Google."""
        return {
            "BAZAAR_OIDC_GOOGLE_CLIENT_IDS": self.client_id,
            "BAZAAR_OIDC_GOOGLE_ISSUER": self.issuer,
            "BAZAAR_OIDC_GOOGLE_JWKS_URL": self.jwks_url,
        }

    def handle(self, method, path, query, headers, raw):
        match (method, path):
            case ("GET", "/.well-known/openid-configuration"):
                raise Answer(200, {
                    "issuer": self.issuer,
                    "jwks_uri": self.jwks_url,
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss",
                                         "name", "given_name", "nonce", "sub"],
                })
            case ("GET", "/oauth2/v3/certs"):
                raise Answer(200, self.jwks, {"cache-control": "public, max-age=300, must-revalidate"})
            case ("POST", "/_stub/id-token"):
                raise Answer(200, {"id_token": self.mint(json_body(raw, google_refusal))})
        raise Answer(404, {"error": "not_found"})

    def mint(self, body):
        """An ID token for the Google account `body` describes, signed now."""
        import jwt  # PyJWT, pinned in run.py (PACKAGES)

        email = body.get("email")
        if not isinstance(email, str) or not EMAIL.match(email):
            google_refusal("email is required (an address)")
        sub = body.get("sub", str(10**20 + secrets.randbelow(9 * 10**20)))
        if not isinstance(sub, str) or not 1 <= len(sub) <= 255:
            google_refusal("sub must be a string of 1 to 255 characters")
        verified = body.get("email_verified", True)
        if not isinstance(verified, bool):
            google_refusal("email_verified must be true or false")
        now = int(time.time())
        claims = {
            "iss": self.issuer, "azp": self.client_id, "aud": self.client_id, "sub": sub,
            "email": email, "email_verified": verified, "iat": now, "exp": now + 3600,
        }
        for optional in ("name", "given_name", "nonce"):
            value = body.get(optional)
            if value is not None:
                if not isinstance(value, str):
                    google_refusal(f"{optional} must be a string")
                claims[optional] = value
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def google_refusal(message):
    """The stand-in's refusal of a test's request (the real Google has no such route)."""
    raise Answer(400, {"error": "invalid_request", "error_description": message})


class Providers:
    """The three stand-ins, with fresh credentials; `settings()` are Bazaar's for them."""

    def __init__(self, webhook_url, log_path):
        self.log_file = open(log_path, "w")
        log_lock = threading.Lock()

        def log(line):
            with log_lock:
                self.log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")
                self.log_file.flush()

        self.msg91 = Msg91(log, secrets.token_hex(16), "contract-otp-template",
                           "918000000001").start()
        self.sendgrid = SendGrid(log, "SG." + secrets.token_urlsafe(32)).start()
        self.razorpay = Razorpay(log, "rzp_test_" + secrets.token_hex(7), secrets.token_hex(16),
                                 secrets.token_hex(16), webhook_url).start()

    def settings(self):
        """The BAZAAR_* settings that point Bazaar's adapters at the stand-ins."""
        return {
            "BAZAAR_MSG91_BASE_URL": self.msg91.base_url,
            "BAZAAR_MSG91_AUTHKEY": self.msg91.authkey,
            "BAZAAR_MSG91_TEMPLATE_ID": self.msg91.template_id,
            "BAZAAR_MSG91_SENDER": "BAZAAR",
            "BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION": "contract-flow-order-confirmation",
            "BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT": "contract-flow-payment-receipt",
            "BAZAAR_MSG91_FLOW_REFUND": "contract-flow-refund",
            "BAZAAR_MSG91_FLOW_CANCELLATION": "contract-flow-cancellation",
            "BAZAAR_MSG91_FLOW_ORDER_PACKED": "contract-flow-order-packed",
            "BAZAAR_MSG91_FLOW_ORDER_SHIPPED": "contract-flow-order-shipped",
            "BAZAAR_MSG91_FLOW_ORDER_DELIVERED": "contract-flow-order-delivered",
            "BAZAAR_MSG91_FLOW_RETURN_REQUESTED": "contract-flow-return-requested",
            "BAZAAR_MSG91_FLOW_RETURN_RECEIVED": "contract-flow-return-received",
            "BAZAAR_MSG91_WHATSAPP_NUMBER": "+" + self.msg91.whatsapp_number,
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_CONFIRMATION":
                "en=contract_order_confirmation:en_US,hi=contract_order_confirmation",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_PAYMENT_RECEIPT": "en=contract_payment_receipt",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_REFUND": "en=contract_refund,hi=contract_refund",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_CANCELLATION": "contract_cancellation",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_PACKED": "contract_order_packed",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_SHIPPED": "contract_order_shipped",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_ORDER_DELIVERED": "contract_order_delivered",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_RETURN_REQUESTED": "contract_return_requested",
            "BAZAAR_MSG91_WHATSAPP_TEMPLATE_RETURN_RECEIVED": "contract_return_received",
            "BAZAAR_SENDGRID_BASE_URL": self.sendgrid.base_url,
            "BAZAAR_SENDGRID_API_KEY": self.sendgrid.api_key,
            "BAZAAR_SENDGRID_FROM_EMAIL": "orders@shop.example.in",
            "BAZAAR_SENDGRID_TEMPLATE_VERIFY_EMAIL": "d-contract-verify-email",
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_CONFIRMATION": "d-contract-order-confirmation",
            "BAZAAR_SENDGRID_TEMPLATE_PAYMENT_RECEIPT": "d-contract-payment-receipt",
            "BAZAAR_SENDGRID_TEMPLATE_REFUND": "d-contract-refund",
            "BAZAAR_SENDGRID_TEMPLATE_CANCELLATION": "d-contract-cancellation",
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_PACKED": "d-contract-order-packed",
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_SHIPPED": "d-contract-order-shipped",
            "BAZAAR_SENDGRID_TEMPLATE_ORDER_DELIVERED": "d-contract-order-delivered",
            "BAZAAR_SENDGRID_TEMPLATE_RETURN_REQUESTED": "d-contract-return-requested",
            "BAZAAR_SENDGRID_TEMPLATE_RETURN_RECEIVED": "d-contract-return-received",
            "BAZAAR_RAZORPAY_BASE_URL": self.razorpay.base_url,
            "BAZAAR_RAZORPAY_KEY_ID": self.razorpay.key_id,
            "BAZAAR_RAZORPAY_KEY_SECRET": self.razorpay.key_secret,
            "BAZAAR_RAZORPAY_WEBHOOK_SECRETS": self.razorpay.webhook_secret,
        }

    def messages_url(self):
        return f"{self.msg91.origin}/_stub/messages"

    def messages(self):
        """Every SMS, voice retry and email sent so far, oldest first within each provider."""
        out = []
        for stub in (self.msg91, self.sendgrid):
            with urllib.request.urlopen(f"{stub.origin}/_stub/messages", timeout=10) as answer:
                out += json.load(answer)
        return out

    def stop(self):
        for stub in (self.msg91, self.sendgrid, self.razorpay):
            stub.stop()
        self.log_file.close()
