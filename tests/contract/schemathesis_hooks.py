"""Schemathesis hooks for tests/contract/schemathesis.py (loaded through schemathesis.toml).

One hook, `filter_failure`, and it drops one kind of failure only: `positive_data_acceptance`
("schema-valid request rejected") when the server's problem document names a value that no
schema can describe, because it depends on what the server issued, stored or was configured
with, or on its state (a locked account, a record's current version), or because the rule needs
more than a regular expression Schemathesis can read (libphonenumber's numbering plans, Unicode
letter classes). A generated cursor was never issued; a generated one-time code was never sent;
a generated product id names no product. The contract says what such a value looks like, and
the server refuses it for what it is. Every entry below is named in docs/contract-testing.md with the same
reason; any other rejection of a schema-valid request stays a failure, and so does every other
check's. Schemathesis counts the failures dropped here in its summary.
"""

import json
import re

import schemathesis

# Problem `code`s (the whole request), with their status, that only say a value is not one
# the server knows, or that the server's state refuses it.
UNKNOWABLE_CODES = {
    # A cursor is an opaque token from an earlier page; a generated one was never issued.
    "invalid_cursor": 400,
    # A one-time code, a password-reset code or an email-verification token the server did not send.
    "invalid_otp": 400,
    # Generated requests to an idempotent operation reuse a key with another body, which the
    # contract itself documents as 422 `idempotency_key_reused`.
    "idempotency_key_reused": 422,
    # State: generated sign-ins with wrong passwords or codes lock the account for a while,
    # after which every sign-in to it is 423 until the lock ends. The contract documents 423.
    "account_locked": 423,
    # State: a generated `If-Match` names no ETag the server issued for the record's current
    # version (or the record changed since). The contract documents 412.
    "precondition_failed": 412,
    # State: generated saves fill the caller's address book up to its limit
    # (`BAZAAR_ADDRESSES_MAX_PER_CUSTOMER`), after which one more is 409. The contract documents 409.
    "address_book_full": 409,
}

# Field error `code`s (in a 422 `validation_failed`, or a 400 `invalid_parameter`) that only
# say a value is not one the server knows.
UNKNOWABLE_FIELD_CODES = {
    # An id in the body (an order's product, a product's image file) that names nothing stored.
    "not_found",
    "file_not_found",
    "file_not_complete",
    # A cart line names a product (`product_id`) and one of its variants (the path's
    # `variant_id`) that must both be stored.
    "unknown_product",
    "unknown_variant",
    # Categories are configuration (`BAZAAR_PRODUCT_CATEGORIES`), not part of the contract.
    "unknown_category",
    # So are tax classes: the seller's rate table (`BAZAAR_GST_RATES`).
    "unknown_tax_class",
    # A pincode of the right shape that India Post's directory (data compiled into the server)
    # does not list.
    "unknown_pincode",
    # A phone number valid by libphonenumber's metadata (numbering plans, per country) and an
    # address valid by RFC 5321/5322 are more than the contract's patterns can say; the
    # patterns state the characters, the server the rest.
    "invalid_phone",
    "invalid_email",
}

# (field, code) pairs that only hold for some fields: the field as a regular expression.
# A product's fields alone, or as an item of a batch create or change.
_PRODUCT = r"^(items\[\d+\]\.(changes\.)?)?"

UNKNOWABLE_FIELDS = [
    # Tags are Unicode letters, digits and combining marks: `\p{L}`, `\p{N}`, `\p{M}` in a
    # pattern, which Schemathesis' Python regular expressions cannot read.
    (r"^((items\[\d+\]\.(changes\.)?)?tags\[\d+\]|tag)$", "invalid_characters"),
    # A file's largest size and its allowed types are configuration (`BAZAAR_FILES_MAX_BYTES`,
    # `BAZAAR_FILES_ALLOWED_TYPES`).
    (r"^size$", "too_large"),
    (r"^content_type$", "not_allowed"),
    # An order's units of one product: at most `BAZAAR_ORDER_PRODUCT_UNITS_MAX` (configuration),
    # added up over lines of the same product.
    (r"^items\[\d+\]\.quantity$", "out_of_range"),
    # A cart line's units: the same setting, and a line of the same variant may be there.
    (r"^quantity$", "out_of_range"),
    # Whether a coupon applies to a cart is stored state: the coupons staff created, their
    # limits and dates, and what the cart holds.
    *((r"^coupon_code$", code) for code in (
        "unknown", "disabled", "not_yet_valid", "expired", "exhausted", "per_customer_limit",
        "first_order_only", "minimum_not_met", "not_eligible",
    )),
    # An order's total must reach Razorpay's minimum (100 paise): a sum of the stored
    # products' prices, which the request only names by id.
    (r"^items$", "below_minimum"),
    # Cash on delivery depends on the customer's stored phone (verified or not), the order's
    # total (the stored products' prices) against `BAZAAR_COD_MAX_ORDER_PAISE`, and the
    # shipping zone of the destination: state and configuration, not contract.
    (r"^payment_method$", "cod_phone_unverified"),
    (r"^payment_method$", "cod_above_limit"),
    (r"^payment_method$", "cod_unavailable_for_destination"),
    # ... and an order placed with explicit items names where it goes: its `address`, which
    # the contract lets a Razorpay order leave out.
    (r"^address$", "required"),
    # Checkout from the cart orders what the caller's stored cart holds, to one of their stored
    # addresses, through the stored shipping zones: an empty cart, a line the stock no longer
    # covers, a place no zone delivers to are state.
    (r"^cart$", "empty"),
    *((r"^cart\.lines\[\d+\]$", code) for code in ("insufficient_stock", "out_of_stock", "unavailable")),
    (r"^address_id$", "no_zone"),
    (r"^address_id$", "zone_disabled"),
    # A password change names the account's current password, which is stored (as a hash),
    # not part of the contract; a generated one is not it. Whether it is needed at all is
    # state: an account that has a password (`has_password`) must name it.
    (r"^current_password$", "mismatch"),
    (r"^current_password$", "required"),
    # Rules between fields, which JSON Schema cannot state: a coupon's end after its start, a
    # zone's longest delivery estimate not below its shortest, a zone naming at least one state
    # or pincode prefix (either list may be empty or absent, not both), and the fields of a
    # coupon's `discount` that go with its `kind` (a `oneOf` of two objects would say it, but
    # poem-openapi writes each as `allOf` with the shared object, whose
    # `additionalProperties: false` then refuses the `kind` the other part requires).
    (r"^ends_at$", "before_start"),
    (r"^estimate\.max_days$", "below_min_days"),
    (r"^states$", "required"),
    (r"^discount\.(percent_bp|max_paise|amount_paise)$", "not_allowed"),
    (r"^discount\.(percent_bp|amount_paise)$", "required"),
    # A product's variants against its options, which JSON Schema cannot relate: variants
    # need options and options need variants, stock is kept per variant, option names and
    # values are distinct, each variant picks one declared value per option and no two pick
    # the same ones, SKUs are distinct (alone, or in a batch's items).
    *((_PRODUCT + field, code) for field, code in (
        (r"variants$", "required"),
        (r"options$", "required"),
        (r"stock$", "not_allowed"),
        (r"options\[\d+\]\.name$", "duplicate"),
        (r"options\[\d+\]\.values\[\d+\]$", "duplicate"),
        (r"variants\[\d+\]\.sku$", "duplicate"),
        (r"variants\[\d+\]\.options$", "duplicate_combination"),
        (r"variants\[\d+\]\.options\..+$", "unknown_option"),
        (r"variants\[\d+\]\.options\..+$", "required"),
        (r"variants\[\d+\]\.options\..+$", "not_allowed"),
    )),
    # A description refuses HTML: a tag (`<b`, `</`, `<!--`, `<?`) or a character entity
    # (`&lt;`, `&#60;`) anywhere in it, which a pattern could only say with lookaheads,
    # which Schemathesis' generator cannot read.
    (_PRODUCT + r"description$", "html_not_allowed"),
    # An order line must name a variant of a product that has several: stored state.
    (r"^items\[\d+\]\.variant_id$", "required"),
    # A shipment (carrier, tracking number) goes with a move to `shipped` only.
    (r"^shipment$", "only_when_shipped"),
]


def _problem(response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    return body if isinstance(body, dict) else None


# Fields whose every refusal may depend on the rest of the body: a product's options and
# variants, each judged against the others (a variant's values against the declared options,
# names and values distinct case-insensitively after trimming, SKUs against each other).
UNKNOWABLE_FIELD_TREES = [_PRODUCT + r"(options|variants)\[\d+\]"]


def _unknowable_field(error):
    if error.get("code") in UNKNOWABLE_FIELD_CODES:
        return True
    field = error.get("field") or ""
    if any(re.search(tree, field) for tree in UNKNOWABLE_FIELD_TREES):
        return True
    return any(
        code == error.get("code") and re.search(pattern, field)
        for pattern, code in UNKNOWABLE_FIELDS
    )


def is_unknowable_value(status, problem):
    """Whether a problem refuses only values the contract cannot describe."""
    if problem is None:
        return False
    code = problem.get("code")
    if UNKNOWABLE_CODES.get(code) == status:
        return True
    if (status, code) in ((422, "validation_failed"), (400, "invalid_parameter")):
        errors = problem.get("errors") or []
        return bool(errors) and all(_unknowable_field(e) for e in errors)
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202":
        return True
    return not is_unknowable_value(response.status_code, _problem(response))
