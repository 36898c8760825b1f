"""Schemathesis hooks for tests/contract/schemathesis.py (loaded through schemathesis.toml).

One hook, `filter_failure`, and it drops one kind of failure only: `positive_data_acceptance`
("schema-valid request rejected") when the server's problem document names a value that no
schema can describe, because it depends on what the server issued, stored or was configured
with. A generated cursor was never issued; a generated one-time code was never sent; a generated
product id names no product. The contract says what such a value looks like, and the server
refuses it for what it is. Every entry below is named in docs/contract-testing.md with the same
reason; any other rejection of a schema-valid request stays a failure, and so does every other
check's. Schemathesis counts the failures dropped here in its summary.
"""

import json

import schemathesis

# Problem `code`s (the whole request) that only say a value is not one the server knows.
UNKNOWABLE_CODES = {
    # A cursor is an opaque token from an earlier page; a generated one was never issued.
    "invalid_cursor": 400,
    # A one-time code, a password-reset code or an email-verification token the server did not send.
    "invalid_otp": 400,
    # Generated requests to an idempotent operation reuse a key with another body, which the
    # contract itself documents as 422 `idempotency_key_reused`.
    "idempotency_key_reused": 422,
}

# Field error `code`s (in a 422 `validation_failed`) that only say a value is not one the server knows.
UNKNOWABLE_FIELD_CODES = {
    # An id in the body (an order's product, a product's image file) that names nothing stored.
    "not_found",
    "file_not_found",
    "file_not_complete",
    # Categories are configuration (`BAZAAR_PRODUCT_CATEGORIES`), not part of the contract.
    "unknown_category",
}


def _problem(response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    return body if isinstance(body, dict) else None


def is_unknowable_value(status, problem):
    """Whether a problem refuses only values the contract cannot describe."""
    if problem is None:
        return False
    code = problem.get("code")
    if UNKNOWABLE_CODES.get(code) == status:
        return True
    if status == 422 and code == "validation_failed":
        field_codes = {e.get("code") for e in problem.get("errors") or []}
        return bool(field_codes) and field_codes <= UNKNOWABLE_FIELD_CODES
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202":
        return True
    return not is_unknowable_value(response.status_code, _problem(response))
