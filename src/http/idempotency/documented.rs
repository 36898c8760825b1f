//! What an idempotent operation's contract says beyond its own declaration: written
//! into the document once, here, for every operation that declares the header, so
//! that no handler repeats it.

use serde_yaml::{Mapping, Value};

use super::declared::HEADER;

const KEY_DESCRIPTION: &str = "Makes retries safe: a new random UUID per action, the same one \
for every retry of it. The request then runs once; copies get the first answer again \
(`Idempotent-Replayed: true`) for 24 hours by default. 1–255 printable ASCII characters.";

const REPLAYED: &str = "IDEMPOTENT-REPLAYED";
const REPLAYED_DESCRIPTION: &str =
    "`true` when this is the kept answer to an earlier request with the same `Idempotency-Key`.";

const IN_FLIGHT: &str = "a request with the same `Idempotency-Key` is still in progress; send it \
again after `Retry-After` seconds for its answer (`idempotency_in_flight`).";
const REUSED: &str =
    "the `Idempotency-Key` was already used for a different request (`idempotency_key_reused`).";

/// Adds to every operation of `doc` that declares `Idempotency-Key`: the header's
/// description, `Idempotent-Replayed` on its successes, and the 409 and 422 the key
/// brings (with `Retry-After` on the 409).
pub fn document(doc: &mut Value) {
    for operation in crate::http::contract::operations_mut(doc) {
        let Some(key) = operation
            .get_mut("parameters")
            .and_then(Value::as_sequence_mut)
            .and_then(|params| {
                params.iter_mut().find(|p| {
                    p["in"] == "header"
                        && p["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(HEADER))
                })
            })
            .and_then(Value::as_mapping_mut)
        else {
            continue;
        };
        key.insert("description".into(), KEY_DESCRIPTION.into());
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_mapping_mut)
        else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let success = status.as_str().is_some_and(|s| s.starts_with('2'));
            if let (true, Some(response)) = (success, response.as_mapping_mut()) {
                headers(response).insert(REPLAYED.into(), replayed_header());
            }
        }
        let problem = problem_response(responses);
        let conflict = add_meaning(responses, "409", IN_FLIGHT, &problem);
        headers(conflict).insert("Retry-After".into(), retry_after_header());
        add_meaning(responses, "422", REUSED, &problem);
    }
}

fn headers(response: &mut Mapping) -> &mut Mapping {
    response
        .entry("headers".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()))
        .as_mapping_mut()
        .expect("headers is a mapping")
}

fn replayed_header() -> Value {
    serde_yaml::from_str(&format!(
        "description: '{REPLAYED_DESCRIPTION}'\ndeprecated: false\nschema:\n  type: boolean\n"
    ))
    .expect("a header object")
}

fn retry_after_header() -> Value {
    serde_yaml::from_str(
        "description: Seconds to wait before retrying.\ndeprecated: false\n\
         schema:\n  type: integer\n  format: uint64\n",
    )
    .expect("a header object")
}

/// An error answer of these responses with its meaning removed, as the shape of a
/// new one (a problem document, the headers every answer has).
fn problem_response(responses: &Mapping) -> Mapping {
    let mut shape = responses
        .iter()
        .find(|(status, _)| status.as_str().is_some_and(|s| s.starts_with('4')))
        .and_then(|(_, response)| response.as_mapping().cloned())
        .expect("an idempotent operation documents a 4xx problem");
    shape.remove("description");
    if let Some(headers) = shape.get_mut("headers").and_then(Value::as_mapping_mut) {
        headers.remove("Retry-After");
    }
    shape
}

/// The response of `status`, its description extended with `meaning` (or made of it,
/// when the operation had no such answer yet, keeping the statuses in order).
fn add_meaning<'a>(
    responses: &'a mut Mapping,
    status: &str,
    meaning: &str,
    problem: &Mapping,
) -> &'a mut Mapping {
    if !responses.contains_key(status) {
        let mut response = problem.clone();
        let mut first = meaning.chars();
        let sentence: String = first
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(first)
            .collect();
        response.insert("description".into(), sentence.into());
        let mut entries: Vec<(Value, Value)> = std::mem::take(responses).into_iter().collect();
        entries.push((status.into(), Value::Mapping(response)));
        entries.sort_by_key(|(s, _)| s.as_str().unwrap_or_default().to_owned());
        responses.extend(entries);
    } else if let Some(response) = responses.get_mut(status).and_then(Value::as_mapping_mut) {
        let before = response
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        response.insert(
            "description".into(),
            format!("{before} Or: {meaning}").into(),
        );
    }
    responses
        .get_mut(status)
        .and_then(Value::as_mapping_mut)
        .expect("inserted above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(params: &str, responses: &str) -> Value {
        serde_yaml::from_str(&format!(
            "paths:\n  /x:\n    post:\n      parameters: {params}\n      responses: {responses}\n"
        ))
        .unwrap()
    }

    const PROBLEM: &str =
        "{description: Bad, content: {application/problem+json: {}}, headers: {X-REQUEST-ID: {}}}";

    #[test]
    fn an_operation_that_declares_the_key_gets_its_header_409_and_422() {
        let mut doc = operation(
            "[{name: Idempotency-Key, in: header}]",
            &format!("{{'201': {{description: Made}}, '400': {PROBLEM}, '422': {PROBLEM}}}"),
        );
        document(&mut doc);
        let op = &doc["paths"]["/x"]["post"];
        assert_eq!(op["parameters"][0]["description"], KEY_DESCRIPTION);
        assert_eq!(
            op["responses"]["201"]["headers"][REPLAYED]["schema"]["type"],
            "boolean"
        );
        let statuses: Vec<_> = op["responses"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(statuses, ["201", "400", "409", "422"]);
        assert_eq!(
            op["responses"]["409"]["description"],
            "A request with the same `Idempotency-Key` is still in progress; send it again after \
             `Retry-After` seconds for its answer (`idempotency_in_flight`)."
        );
        assert!(op["responses"]["409"]["headers"]["Retry-After"].is_mapping());
        assert!(op["responses"]["409"]["headers"]["X-REQUEST-ID"].is_mapping());
        assert_eq!(
            op["responses"]["422"]["description"],
            format!("Bad Or: {REUSED}").as_str()
        );
        assert!(op["responses"]["400"]["headers"].get(REPLAYED).is_none());
    }

    #[test]
    fn an_operation_without_the_key_is_left_alone() {
        let original = operation(
            "[{name: If-Match, in: header}]",
            &format!("{{'200': {{description: Ok}}, '400': {PROBLEM}}}"),
        );
        let mut doc = original.clone();
        document(&mut doc);
        assert_eq!(doc, original);
    }
}
