//! Per-field validation errors, collected rather than returned at the first failure.

/// One invalid field: where (`field`, a JSON path like `tags[2]`), a stable
/// machine-readable `code`, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Collects field errors while a whole input is parsed.
#[derive(Debug, Default)]
pub struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    /// Keeps the value if it parsed, records the error otherwise.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// Length in Unicode scalar values, which is what people mean by "characters".
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The one of `all` whose `name` is `raw`; else an error with `code` that lists the names.
pub fn one_of<T: Copy>(
    field: &str,
    code: &'static str,
    raw: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, FieldError> {
    all.iter()
        .copied()
        .find(|t| name(*t) == raw)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|t| name(*t)).collect();
            FieldError::new(field, code, format!("must be one of {}", names.join(", ")))
        })
}

/// `true` or `false`, exactly: what a boolean query parameter (`BoolText` in the contract)
/// accepts.
pub fn parse_bool(field: &str, raw: &str) -> Result<bool, FieldError> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(FieldError::new(
            field,
            "invalid",
            "must be `true` or `false`",
        )),
    }
}
