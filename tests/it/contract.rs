//! The committed contract, the code that generates it, and the docs that
//! describe it must agree.

use serde_json::Value;

fn repo_file(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

#[test]
fn the_committed_contract_matches_the_code() {
    let committed = repo_file("openapi/openapi.yaml");
    let generated = bazaar::startup::contract(true);
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  committed: {a}\n  generated: {b}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        panic!(
            "openapi/openapi.yaml is out of date with the code. Run `make openapi` and commit the result.\nFirst difference at {first_difference}"
        );
    }
}

fn contract() -> Value {
    serde_json::from_str(&bazaar::startup::contract(false)).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

/// Follows a `$ref` into `components`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    }
}

#[test]
fn every_operation_is_named_summarised_tagged_and_documents_its_errors() {
    let doc = contract();
    let mut ids = std::collections::HashSet::new();
    for (path, method, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{what}: operationId {id} is not a plain identifier"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{what} has no summary"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| t.len() == 1),
            "{what} needs exactly one tag"
        );
        let responses = op["responses"].as_object().unwrap();
        let errors: Vec<_> = responses
            .iter()
            .filter(|(s, _)| s.starts_with('4') || s.starts_with('5'))
            .collect();
        assert!(!errors.is_empty(), "{what} documents no error response");
        for (status, response) in errors {
            let schema = &response["content"]["application/problem+json"]["schema"];
            assert_eq!(
                schema["$ref"], "#/components/schemas/Problem",
                "{what} {status} is not a problem document"
            );
        }
    }
    assert!(ids.len() >= 9);
}

#[test]
fn request_and_response_bodies_have_examples() {
    let doc = contract();
    for (path, method, op) in operations(&doc) {
        let what = format!("{method} {path}");
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for media in content.values() {
                assert!(
                    resolve(&doc, &media["schema"]).get("example").is_some(),
                    "{what}: request body has no example"
                );
            }
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                if media_type.contains("json") {
                    let schema = resolve(&doc, &media["schema"]);
                    // A list answers an array of one documented item type.
                    let schema = if schema["type"] == "array" {
                        resolve(&doc, &schema["items"])
                    } else {
                        schema
                    };
                    assert!(
                        schema.get("example").is_some(),
                        "{what} {status}: response has no example"
                    );
                }
            }
        }
    }
}

#[test]
fn docs_list_every_error_code() {
    let errors = repo_file("docs/errors.md");
    for code in bazaar::app::errors::ErrorCode::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.status());
        assert!(
            errors.contains(&row),
            "docs/errors.md lacks the row starting `{row}`"
        );
    }
}

#[test]
fn operations_that_need_a_user_declare_the_bearer_scheme_and_401() {
    let doc = contract();
    assert_eq!(
        doc["components"]["securitySchemes"]["BearerAuth"]["scheme"],
        "bearer"
    );
    let public = [
        "register",
        "sendOtp",
        "verifyOtp",
        "login",
        "refreshTokens",
        "forgotPassword",
        "resetPassword",
        "resetPasswordWithLink",
        "verifyEmail",
        "signInWithIdToken",
        "getProduct",
        "getProductImage",
        "listProducts",
        "createGuestCart",
        "getPincode",
        "listDevMessages",
        "receiveRazorpayWebhook",
        "devCapturePayment",
        "getLiveness",
        "getReadiness",
        "getMetrics",
    ];
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("BearerAuth").is_some()));
        if public.contains(&id) {
            assert!(!secured, "{method} {path} ({id}) should be public");
        } else {
            assert!(secured, "{method} {path} ({id}) must require BearerAuth");
            assert!(
                op["responses"].get("401").is_some(),
                "{method} {path} must document 401"
            );
        }
    }
}

/// Declaring `IdempotencyKeyHeader` is the one registration of an idempotent operation:
/// the middleware's table is read from it, and the contract shows the header with the
/// 409, the 422 and the replay header it brings on exactly those operations.
#[test]
fn operations_declare_idempotency_keys_exactly_where_they_are_honoured() {
    use bazaar::http::idempotency::IdempotentOperations;
    use poem_openapi::OpenApi;
    let honoured = IdempotentOperations::declared_in(&bazaar::http::contract::Apis::meta());
    let doc = contract();
    let mut declared = Vec::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let declares = op["parameters"].as_array().is_some_and(|params| {
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        });
        let listed = honoured
            .iter()
            .any(|o| o.operation_id == id && o.method.as_str().eq_ignore_ascii_case(&method));
        assert_eq!(
            declares, listed,
            "{method} {path} ({id}): the middleware honours the key exactly where the contract declares it"
        );
        if !declares {
            let text = op["responses"].to_string();
            assert!(
                !text.contains("IDEMPOTENT-REPLAYED") && !text.contains("idempotency_in_flight"),
                "{method} {path} ({id}) speaks of a key it does not take"
            );
            continue;
        }
        declared.push(id.to_owned());
        for (status, code) in [
            ("409", "idempotency_in_flight"),
            ("422", "idempotency_key_reused"),
        ] {
            let description = op["responses"][status]["description"].as_str();
            assert!(
                description.is_some_and(|d| d.contains(code)),
                "{method} {path} must document {status} `{code}`"
            );
        }
        assert!(op["responses"]["409"]["headers"]["Retry-After"].is_object());
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('2') {
                assert_eq!(
                    response["headers"]["IDEMPOTENT-REPLAYED"]["schema"]["type"], "boolean",
                    "{method} {path} {status} must declare Idempotent-Replayed"
                );
            }
        }
    }
    declared.sort();
    assert_eq!(
        declared,
        [
            "checkoutCart",
            "createMyAddress",
            "createOrder",
            "createPayment",
            "recordCodRefund",
            "refundOrder",
            "sendOtp"
        ],
        "the idempotent operations changed: update docs/idempotency.md's list and this one"
    );
    let guide = repo_file("docs/idempotency.md");
    for id in &declared {
        assert!(
            guide.contains(&format!("`{id}`")),
            "docs/idempotency.md does not name {id}"
        );
    }
}

/// Error descriptions are generated from the codes each operation can answer: every code
/// a description names has that response's status, and the codes the domain raises on
/// an operation are there.
#[test]
fn error_responses_name_their_codes_and_only_codes_of_their_status() {
    use bazaar::app::errors::ErrorCode;
    let doc = contract();
    for (path, method, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let description = response["description"].as_str().unwrap_or_default();
            let named: Vec<&str> = description.split('`').skip(1).step_by(2).collect();
            let codes: Vec<&ErrorCode> = ErrorCode::ALL
                .iter()
                .filter(|c| named.contains(&c.as_str()))
                .collect();
            assert!(
                !codes.is_empty(),
                "{method} {path} {status} names no code: {description}"
            );
            for code in codes {
                assert_eq!(
                    code.status().to_string(),
                    *status,
                    "{method} {path} {status} names `{}`",
                    code.as_str()
                );
            }
        }
    }
    let answer = |id: &str, status: &str| {
        operations(&doc)
            .into_iter()
            .find(|(_, _, op)| op["operationId"] == id)
            .map(|(_, _, op)| op["responses"][status]["description"].to_string())
            .unwrap_or_default()
    };
    assert!(answer("createOrder", "409").contains("`insufficient_stock`"));
    assert!(answer("cancelOrder", "409").contains("`illegal_transition`"));
    assert!(answer("refundOrder", "409").contains("`refund_exceeds_captured`"));
}

/// The error-code table of `docs/api-guide.md`, as `ErrorCode` defines it.
fn error_code_table() -> String {
    let mut table =
        String::from("\n| code | status | meaning | retry later? |\n| --- | ---: | --- | --- |\n");
    for code in bazaar::app::errors::ErrorCode::ALL {
        let retry = if code.retryable() { "yes" } else { "no" };
        table.push_str(&format!(
            "| `{}` | {} | {} | {retry} |\n",
            code.as_str(),
            code.status(),
            code.title()
        ));
    }
    table
}

/// Checks that the part of the doc at `path` between `<!-- {marker}:start -->` and
/// `<!-- {marker}:end -->` is `expected`; with `BAZAAR_UPDATE_DOCS` set (what `make api-guide`
/// and `make config-docs` do) it writes `expected` there instead.
fn generated_part_is(path: &str, marker: &str, expected: &str, target: &str) {
    let start = format!("<!-- {marker}:start -->");
    let end = format!("<!-- {marker}:end -->");
    let doc = repo_file(path);
    let (before, rest) = doc
        .split_once(&start)
        .unwrap_or_else(|| panic!("{path} lacks {start}"));
    let (current, after) = rest
        .split_once(&end)
        .unwrap_or_else(|| panic!("{path} lacks {end}"));
    if std::env::var_os("BAZAAR_UPDATE_DOCS").is_some() {
        let full = concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + path;
        std::fs::write(full, format!("{before}{start}{expected}{end}{after}")).unwrap();
        return;
    }
    assert_eq!(
        current, expected,
        "{path}: the generated {marker} table differs from the code: run `make {target}`"
    );
}

#[test]
fn the_api_guide_lists_every_error_code_as_the_code_defines_it() {
    generated_part_is(
        "docs/api-guide.md",
        "error-codes",
        &error_code_table(),
        "api-guide",
    );
}

/// The settings table of docs/configuration.md is the rows of `config::SETTINGS`: every
/// setting, its default, its meaning and whether it is secret, and nothing else.
#[test]
fn the_configuration_doc_lists_every_setting_as_the_code_defines_it() {
    generated_part_is(
        "docs/configuration.md",
        "settings",
        &bazaar::config::settings_table(),
        "config-docs",
    );
}

/// Schemathesis found `POST /api/v1/payments/verify` answering 415 (a body without
/// `Content-Type`) that the contract did not document. Every operation that takes a body
/// can be answered 413 and 415 by the pipeline, whatever the handler.
#[test]
fn operations_with_a_body_document_413_and_415() {
    let doc = contract();
    for (path, method, op) in operations(&doc) {
        if op.get("requestBody").is_none() {
            continue;
        }
        for status in ["413", "415"] {
            assert!(
                op["responses"].get(status).is_some(),
                "{method} {path} takes a body but does not document {status}"
            );
        }
    }
}

/// Schemathesis found products answering `"stock": null` (unlimited) where the schema said
/// integer.
#[test]
fn a_products_unlimited_stock_is_nullable() {
    let doc = contract();
    let stock = &doc["components"]["schemas"]["Product"]["properties"]["stock"];
    assert_eq!(stock["nullable"], true, "{stock}");
}

/// Product ids in paths are 24 hex digits, so that `/api/v1/products/batch` is not read as
/// getProduct/replaceProduct/deleteProduct with the id `batch`.
#[test]
fn product_id_path_parameters_have_their_pattern() {
    let doc = contract();
    for (path, method, op) in operations(&doc) {
        if !path.starts_with("/api/v1/products/{id}") {
            continue;
        }
        let id = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "id" && p["in"] == "path")
            .unwrap_or_else(|| panic!("{method} {path} has no id"));
        assert_eq!(
            id["schema"]["pattern"], "^[0-9a-fA-F]{24}$",
            "{method} {path}"
        );
    }
}

/// Request bodies are parsed with `deny_unknown_fields`, so every object a request body is
/// made of says `additionalProperties: false`: the contract allows no field the server refuses.
#[test]
fn request_body_objects_allow_no_other_fields() {
    let doc = contract();
    let mut pending: Vec<Value> = operations(&doc)
        .into_iter()
        .filter_map(|(_, _, op)| {
            op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .cloned()
        })
        .map(Value::Object)
        .collect();
    let mut seen = 0;
    while let Some(schema) = pending.pop() {
        let schema = resolve(&doc, &schema).clone();
        if let Some(properties) = schema["properties"].as_object() {
            seen += 1;
            assert_eq!(schema["additionalProperties"], false, "{schema}");
            pending.extend(properties.values().cloned());
        }
        pending.extend(schema["items"].as_object().cloned().map(Value::Object));
    }
    assert!(seen > 10, "only {seen} request objects");
}

/// The create operations link to the operations on what they created (for clients and for
/// Schemathesis' stateful phase), and every link names a real operation and parameter.
#[test]
fn create_operations_link_to_reading_what_they_created() {
    let doc = contract();
    let ops = operations(&doc);
    let by_id = |id: &str| {
        ops.iter()
            .find(|(_, _, op)| op["operationId"] == id)
            .map(|(_, _, op)| op.clone())
            .unwrap_or_else(|| panic!("no operation {id}"))
    };
    for (create, get) in [
        ("createProduct", "getProduct"),
        ("createOrder", "getOrder"),
        ("checkoutCart", "getOrder"),
        ("createFile", "getFile"),
    ] {
        let links = &by_id(create)["responses"]["201"]["links"];
        assert!(
            links
                .as_object()
                .is_some_and(|l| l.values().any(|link| link["operationId"] == get)),
            "{create} does not link to {get}: {links}"
        );
    }
    let mut seen = 0;
    for (path, method, op) in &ops {
        for (status, response) in op["responses"].as_object().unwrap() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                seen += 1;
                let target = by_id(link["operationId"].as_str().unwrap());
                for parameter in link["parameters"].as_object().unwrap().keys() {
                    assert!(
                        target["parameters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|p| p["name"] == parameter.as_str()),
                        "{method} {path} {status} link {name}: its target has no {parameter}"
                    );
                }
            }
        }
    }
    assert!(seen >= 3);
}
