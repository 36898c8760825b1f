//! `make contract-diff BASE=<git ref>`: the changes between two versions of the
//! contract that break a client generated from the older one.
//!
//! Breaking, by the rule in `docs/api-guide.md`:
//! - an operation removed (by method and path);
//! - a success response removed, or a field of a response body removed or
//!   given another type;
//! - a request body field or a parameter that became required (a new required
//!   one included);
//! - an enum that lost a value (in a request: clients send it; in a response:
//!   a client's exhaustive match no longer covers what it expects).
//!
//! Additions (operations, optional fields, response fields, enum values in
//! requests) are not breaking. Usage: `bazaar-contract-diff <old.yaml> <new.yaml>`;
//! exits 1 when it lists anything.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// One breaking change, for people.
type Finding = String;

struct Spec<'a> {
    doc: &'a Value,
}

impl<'a> Spec<'a> {
    /// `schema` with `$ref`s followed (to a depth, in case of cycles).
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..16 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let path = reference.trim_start_matches("#/");
            let mut target = self.doc;
            for part in path.split('/') {
                target = &target[part];
            }
            schema = target;
        }
        // poem-openapi wraps some references in `allOf: [ {$ref} ]`.
        match schema.get("allOf").and_then(Value::as_array) {
            Some(all) if all.len() == 1 => self.resolve(&all[0]),
            _ => schema,
        }
    }

    fn operations(&self) -> Vec<(String, String, &'a Value)> {
        let mut ops = Vec::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    ops.push((method.to_owned(), path.clone(), op));
                }
            }
        }
        ops
    }
}

fn kind(schema: &Value) -> Option<String> {
    match &schema["type"] {
        Value::String(t) => Some(t.clone()),
        Value::Array(ts) => {
            let mut names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            names.sort();
            Some(names.join("|"))
        }
        _ => None,
    }
}

fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    schema["enum"]
        .as_array()
        .map(|values| values.iter().map(|v| v.to_string()).collect())
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Compares a response body: every old field must still be there with its type.
fn response_schema(old: &Spec, new: &Spec, a: &Value, b: &Value, at: &str, out: &mut Vec<Finding>) {
    let (a, b) = (old.resolve(a), new.resolve(b));
    if let (Some(ta), Some(tb)) = (kind(a), kind(b)) {
        if ta != tb {
            out.push(format!("{at}: type changed from {ta} to {tb}"));
            return;
        }
    }
    if let (Some(va), Some(vb)) = (enum_values(a), enum_values(b)) {
        for gone in va.difference(&vb) {
            out.push(format!("{at}: enum value {gone} removed"));
        }
    }
    if let (Some(ia), Some(ib)) = (a.get("items"), b.get("items")) {
        response_schema(old, new, ia, ib, &format!("{at}[]"), out);
    }
    for (name, pa) in a["properties"].as_object().into_iter().flatten() {
        match b["properties"].get(name) {
            None => out.push(format!("{at}.{name}: field removed")),
            Some(pb) => response_schema(old, new, pa, pb, &format!("{at}.{name}"), out),
        }
    }
}

/// Compares a request body: no field may become required, no enum value go.
fn request_schema(old: &Spec, new: &Spec, a: &Value, b: &Value, at: &str, out: &mut Vec<Finding>) {
    let (a, b) = (old.resolve(a), new.resolve(b));
    if let (Some(ta), Some(tb)) = (kind(a), kind(b)) {
        if ta != tb {
            out.push(format!("{at}: type changed from {ta} to {tb}"));
            return;
        }
    }
    if let (Some(va), Some(vb)) = (enum_values(a), enum_values(b)) {
        for gone in va.difference(&vb) {
            out.push(format!("{at}: enum value {gone} no longer accepted"));
        }
    }
    if let (Some(ia), Some(ib)) = (a.get("items"), b.get("items")) {
        request_schema(old, new, ia, ib, &format!("{at}[]"), out);
    }
    let was = required(a);
    for name in required(b).difference(&was) {
        out.push(format!("{at}.{name}: now required"));
    }
    for (name, pb) in b["properties"].as_object().into_iter().flatten() {
        if let Some(pa) = a["properties"].get(name) {
            request_schema(old, new, pa, pb, &format!("{at}.{name}"), out);
        }
    }
}

fn json_schema(content: &Value) -> Option<&Value> {
    content
        .as_object()?
        .iter()
        .find(|(media, _)| media.contains("json"))
        .map(|(_, m)| &m["schema"])
}

/// Every breaking change from `old` to `new`.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<Finding> {
    let (old, new) = (Spec { doc: old }, Spec { doc: new });
    let mut out = Vec::new();
    for (method, path, a) in old.operations() {
        let name = format!("{} {path}", method.to_uppercase());
        let Some(b) = new.doc["paths"][&path].get(method.as_str()) else {
            let id = a["operationId"].as_str().unwrap_or("?");
            out.push(format!("{name} ({id}): operation removed"));
            continue;
        };
        // Parameters: a new required one, or one that became required.
        let params = |op: &Value| -> Vec<(String, String, bool)> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p["required"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        };
        let before = params(a);
        for (pname, place, req) in params(b) {
            let was = before
                .iter()
                .find(|(n, w, _)| n == &pname && w == &place)
                .is_some_and(|(_, _, r)| *r);
            if req && !was {
                out.push(format!("{name}: {place} parameter `{pname}` now required"));
            }
        }
        // The request body.
        let body = |op: &Value| json_schema(&op["requestBody"]["content"]).cloned();
        let required_body = |op: &Value| op["requestBody"]["required"].as_bool().unwrap_or(false);
        if required_body(b) && !required_body(a) {
            out.push(format!("{name}: a request body is now required"));
        }
        if let (Some(sa), Some(sb)) = (body(a), body(b)) {
            request_schema(&old, &new, &sa, &sb, &format!("{name} request"), &mut out);
        }
        // Responses.
        for (status, ra) in a["responses"].as_object().into_iter().flatten() {
            let Some(rb) = b["responses"].get(status) else {
                if status.starts_with('2') {
                    out.push(format!("{name}: response {status} removed"));
                }
                continue;
            };
            if let (Some(sa), Some(sb)) = (json_schema(&ra["content"]), json_schema(&rb["content"]))
            {
                response_schema(&old, &new, sa, sb, &format!("{name} {status}"), &mut out);
            }
        }
    }
    out
}

fn load(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, old, new] = args.as_slice() else {
        eprintln!("usage: bazaar-contract-diff <old.yaml> <new.yaml>");
        return ExitCode::from(2);
    };
    let (old, new) = match (load(old), load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let findings = breaking_changes(&old, &new);
    if findings.is_empty() {
        println!("no breaking changes");
        return ExitCode::SUCCESS;
    }
    println!("{} breaking change(s):", findings.len());
    for finding in &findings {
        println!("  - {finding}");
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::breaking_changes;
    use serde_json::{json, Value};

    /// A contract with one operation whose request and response are given.
    fn spec(request: Value, response: Value, params: Value) -> Value {
        json!({
            "paths": { "/api/v1/things": { "post": {
                "operationId": "createThing",
                "parameters": params,
                "requestBody": { "required": true, "content": { "application/json": { "schema": request } } },
                "responses": { "201": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } } }
            } } },
            "components": { "schemas": { "Thing": response } }
        })
    }

    fn thing(extra: Value) -> Value {
        let mut base = json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": { "type": "string" },
                "size": { "type": "integer" },
                "colour": { "type": "string", "enum": ["red", "blue"] }
            }
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    }

    fn input(required: &[&str]) -> Value {
        json!({
            "type": "object",
            "required": required,
            "properties": {
                "name": { "type": "string" },
                "kind": { "type": "string", "enum": ["a", "b"] },
                "note": { "type": "string" }
            }
        })
    }

    #[test]
    fn the_same_contract_has_no_breaking_changes() {
        let committed: Value = serde_yaml::from_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            breaking_changes(&committed, &committed),
            Vec::<String>::new()
        );
    }

    #[test]
    fn additions_are_not_breaking() {
        let old = spec(input(&["name"]), thing(json!({})), json!([]));
        let mut response = thing(json!({}));
        response["properties"]["weight"] = json!({ "type": "integer" });
        let mut request = input(&["name"]);
        request["properties"]["kind"]["enum"] = json!(["a", "b", "c"]);
        let new = spec(
            request,
            response,
            json!([{ "name": "dry_run", "in": "query", "required": false }]),
        );
        assert_eq!(breaking_changes(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn a_removed_operation_is_breaking() {
        let old = spec(input(&[]), thing(json!({})), json!([]));
        let new = json!({ "paths": {}, "components": { "schemas": {} } });
        assert_eq!(
            breaking_changes(&old, &new),
            ["POST /api/v1/things (createThing): operation removed"]
        );
    }

    #[test]
    fn a_removed_or_retyped_response_field_is_breaking() {
        let old = spec(input(&[]), thing(json!({})), json!([]));
        let mut response = thing(json!({}));
        response["properties"]
            .as_object_mut()
            .unwrap()
            .remove("size");
        response["properties"]["id"] = json!({ "type": "integer" });
        let new = spec(input(&[]), response, json!([]));
        let found = breaking_changes(&old, &new);
        assert!(
            found.contains(&"POST /api/v1/things 201.size: field removed".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(
                &"POST /api/v1/things 201.id: type changed from string to integer".to_owned()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_new_required_request_field_or_parameter_is_breaking() {
        let old = spec(input(&["name"]), thing(json!({})), json!([]));
        let new = spec(
            input(&["name", "note"]),
            thing(json!({})),
            json!([{ "name": "tenant", "in": "header", "required": true }]),
        );
        let found = breaking_changes(&old, &new);
        assert!(
            found.contains(&"POST /api/v1/things request.note: now required".to_owned()),
            "{found:?}"
        );
        assert!(
            found.contains(
                &"POST /api/v1/things: header parameter `tenant` now required".to_owned()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_narrowed_enum_is_breaking_in_requests_and_responses() {
        let old = spec(input(&[]), thing(json!({})), json!([]));
        let mut request = input(&[]);
        request["properties"]["kind"]["enum"] = json!(["a"]);
        let mut response = thing(json!({}));
        response["properties"]["colour"]["enum"] = json!(["red"]);
        let new = spec(request, response, json!([]));
        let found = breaking_changes(&old, &new);
        assert!(
            found.contains(
                &"POST /api/v1/things request.kind: enum value \"b\" no longer accepted".to_owned()
            ),
            "{found:?}"
        );
        assert!(
            found.contains(
                &"POST /api/v1/things 201.colour: enum value \"blue\" removed".to_owned()
            ),
            "{found:?}"
        );
    }
}
