//! The layers, checked from the source: every `crate::…` path (in `use` lines and
//! inline), every `super::` that climbs out of a module and every exported macro a
//! file names is an edge from its top-level module to another. Lower layers never
//! name higher ones, and the domain's own modules form no cycle.
//!
//! The docs are checked here too: every source path README.md and docs/ name exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, inside out. A module may name modules of its own rank or
/// below; same-rank modules may not form a cycle.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("config", 1),
    ("breaker", 2),
    ("store", 3),
    ("kv", 3),
    ("providers", 3),
    ("app", 4),
    ("telemetry", 5),
    ("state", 6),
    ("http", 7),
    ("startup", 8),
    ("cli", 9),
];

/// Crates that belong to one adapter: naming them anywhere else puts HTTP, MongoDB or
/// Redis where the layers say they are not known.
const FOREIGN_CRATES: &[(&str, &[&str])] = &[
    ("poem", &["http", "startup"]),
    ("poem_openapi", &["http"]),
    ("mongodb", &["store"]),
    // The domain generates its ids in the shape of a MongoDB ObjectId, with bson's
    // generator; it stores nothing through it.
    ("bson", &["store", "domain"]),
    ("redis", &["kv"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/app/orders/mod.rs` → `["app", "orders"]`; `src/lib.rs` → `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments (doc links are not imports) or string literals.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut code = String::new();
        let mut in_str = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => in_str = !in_str,
                '\\' if in_str => {
                    chars.next();
                }
                '/' if !in_str && chars.peek() == Some(&'/') => break,
                _ if in_str => {}
                _ => code.push(c),
            }
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// The first segment of every path below the crate root that `code` names.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i;
        at = start + "crate::".len();
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if preceded {
            continue;
        }
        if code[at..].starts_with('{') {
            // `crate::{a::b, c}`: the first segment of each item of the group.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in code[at..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            at += j;
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let rest = &code[at + j..];
                        let end = rest
                            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .unwrap();
                        found.insert(rest[..end].to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let rest = &code[at..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            found.insert(rest[..end].to_owned());
        }
    }
    found
}

/// What `super::super::x` in a file of module `path` reaches, when it climbs to the root.
fn escaping_supers(code: &str, path: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("super::") {
        if i >= "super::".len() && &code[i - "super::".len()..i] == "super::" {
            continue; // counted from the first `super::` of the chain
        }
        let mut rest = &code[i..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        // A file's own module is `path`; `super` of a `mod.rs` or a leaf file is its parent.
        // Inside the file's test module (`mod tests {`, by convention last) one more.
        let depth = path.len() + usize::from(code[..i].contains("mod tests {"));
        if climbs >= depth {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            found.insert(rest[..end].to_owned());
        }
    }
    found
}

/// Exported macros, by name, and the top-level module that defines each.
fn exported_macros(files: &[(PathBuf, String)]) -> BTreeMap<String, String> {
    let mut macros = BTreeMap::new();
    for (file, code) in files {
        let mut lines = code.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() == "#[macro_export]" {
                if let Some(def) = lines
                    .peek()
                    .and_then(|l| l.trim().strip_prefix("macro_rules!"))
                {
                    let name = def.trim().trim_end_matches('{').trim().to_owned();
                    macros.insert(name, module_path(file)[0].clone());
                }
            }
        }
    }
    macros
}

struct Source {
    /// (file, its module path, its code without comments and strings)
    files: Vec<(PathBuf, Vec<String>, String)>,
    macros: BTreeMap<String, String>,
}

fn source() -> Source {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths.sort();
    let raw: Vec<(PathBuf, String)> = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, code_of(&text))
        })
        .collect();
    // Macros are found in the raw text: `code_of` keeps attributes.
    let macros = exported_macros(&raw);
    let files = raw
        .into_iter()
        .map(|(p, code)| (p.clone(), module_path(&p), code))
        .collect();
    Source { files, macros }
}

/// Every edge between top-level modules: (from, to, file that makes it).
fn edges(source: &Source) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (file, path, code) in &source.files {
        let Some(from) = path.first() else { continue };
        let mut named = crate_paths(code);
        named.extend(escaping_supers(code, path));
        for name in named {
            let to = source.macros.get(&name).cloned().unwrap_or(name);
            if &to != from {
                let rel = file.strip_prefix(src()).unwrap().display().to_string();
                out.push((from.clone(), to, rel));
            }
        }
    }
    out
}

fn rank(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("src/{module} is in no layer: add it to LAYERS"))
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(modules.len() >= 10, "{modules:?}");
    for module in modules {
        rank(module);
    }
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let source = source();
    let upward: Vec<String> = edges(&source)
        .into_iter()
        .filter(|(from, to, _)| LAYERS.iter().any(|(m, _)| m == to) && rank(to) > rank(from))
        .map(|(from, to, file)| format!("{file}: {from} names {to}"))
        .collect();
    assert!(
        upward.is_empty(),
        "imports pointing outwards:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_domain_names_nothing_of_the_crate_outside_it() {
    let source = source();
    let outside: Vec<String> = edges(&source)
        .into_iter()
        .filter(|(from, _, _)| from == "domain")
        .map(|(_, to, file)| format!("{file} names {to}"))
        .collect();
    assert!(outside.is_empty(), "{}", outside.join("\n"));
}

#[test]
fn nothing_outside_http_names_http_except_the_wiring() {
    let source = source();
    let users: Vec<String> = edges(&source)
        .into_iter()
        .filter(|(from, to, _)| to == "http" && from != "startup" && from != "cli")
        .map(|(from, _, file)| format!("{file} ({from})"))
        .collect();
    assert!(users.is_empty(), "{}", users.join("\n"));
}

#[test]
fn stores_and_key_value_never_name_a_use_case() {
    let source = source();
    let bad: Vec<String> = edges(&source)
        .into_iter()
        .filter(|(from, to, _)| matches!(from.as_str(), "store" | "kv") && to == "app")
        .map(|(_, _, file)| file)
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn modules_of_one_layer_form_no_cycle() {
    let source = source();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to, _) in edges(&source) {
        if LAYERS.iter().any(|(m, _)| *m == to) {
            graph.entry(from).or_default().insert(to);
        }
    }
    assert_acyclic(&graph, "top-level modules");
}

#[test]
fn the_domain_modules_form_no_cycle() {
    let source = source();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, path, code) in &source.files {
        if path.first().map(String::as_str) != Some("domain") || path.len() < 2 {
            continue;
        }
        let from = path[1].clone();
        let mut named = BTreeSet::new();
        for (i, _) in code.match_indices("domain::") {
            let rest = &code[i + "domain::".len()..];
            named.insert(leading_ident(rest));
        }
        for (i, _) in code.match_indices("super::") {
            named.insert(leading_ident(&code[i + "super::".len()..]));
        }
        for to in named {
            // A module is a file, or a folder with its `mod.rs` (`domain/order/`).
            let domain = src().join("domain");
            let exists = domain.join(format!("{to}.rs")).exists()
                || domain.join(&to).join("mod.rs").exists();
            if exists && to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(graph.len() > 3, "the domain graph was not read: {graph:?}");
    assert_acyclic(&graph, "domain modules");
}

fn leading_ident(s: &str) -> String {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    s[..end].to_owned()
}

fn assert_acyclic(graph: &BTreeMap<String, BTreeSet<String>>, what: &str) {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            panic!("the {what} form a cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn adapter_crates_stay_in_their_layers() {
    let source = source();
    let mut bad = Vec::new();
    for (file, path, code) in &source.files {
        let Some(module) = path.first() else { continue };
        for (krate, allowed) in FOREIGN_CRATES {
            let named = code.match_indices(&format!("{krate}::")).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if named && !allowed.contains(&module.as_str()) {
                let rel = file.strip_prefix(src()).unwrap().display();
                bad.push(format!("{rel} ({module}) names {krate}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The checks above would pass on an empty graph; this one proves they read the tree.
#[test]
fn the_reader_sees_the_known_edges() {
    let source = source();
    let edges = edges(&source);
    let has = |from: &str, to: &str| edges.iter().any(|(f, t, _)| f == from && t == to);
    assert!(has("http", "app"), "http → app");
    assert!(has("app", "store"), "app → store");
    assert!(has("store", "domain"), "store → domain");
    assert!(has("startup", "http"), "startup → http");
    assert_eq!(
        crate_paths("use crate::{error_set, domain::ids::X};\nlet a = crate::kv::f();"),
        BTreeSet::from(["error_set".into(), "domain".into(), "kv".into()])
    );
    assert_eq!(
        escaping_supers(
            "use super::super::http::x; use super::y;",
            &["app".into(), "orders".into()]
        ),
        BTreeSet::from(["http".into()])
    );
}

/// The source paths a text names (`src/…`, `adapters/…`, `tests/…`, …), with
/// `dir/{a,b}.rs` expanded, outside fenced code blocks (which show a client's own files).
fn named_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 6] = [
        "src/",
        "adapters/",
        "tests/",
        "openapi/",
        "postman/",
        "docs/",
    ];
    let mut paths = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for token in line.split(|c: char| c.is_whitespace() || "`()[];:|*'\"".contains(c)) {
            let token = token.trim_end_matches(['.', ',']);
            if !ROOTS.iter().any(|r| token.starts_with(r))
                || token.starts_with("tests/output")
                || token.contains(['<', '…'])
            {
                continue;
            }
            match (token.find('{'), token.find('}')) {
                (Some(open), Some(close)) if open < close => {
                    for part in token[open + 1..close].split(',') {
                        paths.push(format!("{}{part}{}", &token[..open], &token[close + 1..]));
                    }
                }
                _ => paths.extend(token.split(',').map(str::to_owned)),
            }
        }
    }
    paths
}

#[test]
fn every_source_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for path in named_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() {
                let name = doc.strip_prefix(root).unwrap().display();
                missing.push(format!("{name}: {path}"));
            }
        }
    }
    let architecture = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    assert!(
        named_paths(&architecture).len() >= 40,
        "docs/architecture.md was not read"
    );
    assert!(checked >= 100, "only {checked} paths found in the docs");
    assert!(
        missing.is_empty(),
        "the docs name paths that do not exist:\n{}",
        missing.join("\n")
    );
    assert_eq!(
        named_paths("see `src/http/{auth,users}.rs`, and `tests/output/x`.\n```\nsrc/api.ts\n```"),
        ["src/http/auth.rs", "src/http/users.rs"]
    );
}

/// One job per file: a source file is at most about 500 lines before its unit tests. A file
/// that grows past this does more than one thing; split it by job (docs/architecture.md).
const MAX_LINES_BEFORE_TESTS: usize = 520;

#[test]
fn no_source_file_holds_more_than_one_jobs_worth_of_code() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            // Up to the test module: a `#[cfg(test)]` on any other item does not end the code.
            let lines: Vec<&str> = text.lines().collect();
            let lines = lines
                .windows(2)
                .position(|w| {
                    w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod ")
                })
                .unwrap_or(lines.len());
            (lines > MAX_LINES_BEFORE_TESTS).then(|| {
                let rel = file.strip_prefix(src()).unwrap().display();
                format!("src/{rel}: {lines} lines")
            })
        })
        .collect();
    long.sort();
    assert!(files.len() > 50, "only {} files read", files.len());
    assert!(
        long.is_empty(),
        "files over {MAX_LINES_BEFORE_TESTS} lines:\n{}",
        long.join("\n")
    );
}
