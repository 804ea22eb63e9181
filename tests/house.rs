//! The house rules a review holds the code to, checked on the source itself: `main.rs` stays a
//! parse, a run and one exit mapping; no module imports one that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn main_rs_stays_a_parse_a_run_and_one_exit_mapping() {
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(lines <= 80, "src/main.rs is {lines} lines (at most 80)");
}

/// Every `.rs` file under src/ as its module path (`notify::security_hub`), with its text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if parts
                    .last()
                    .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
                {
                    parts.pop();
                }
                out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &src(), &mut out);
    out
}

/// The modules a file's `use` lines name (outside its tests), resolved to known modules: the
/// longest known prefix of each path.
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    for line in code.lines().map(str::trim) {
        let Some(path) = line
            .strip_prefix("use ")
            .or_else(|| line.strip_prefix("pub use "))
        else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let mut parts: Vec<String> = Vec::new();
        let mut rest = path.split("::").peekable();
        match rest.peek().copied() {
            Some("crate") => {
                rest.next();
            }
            Some("super") => {
                // A file's `super` is its folder's module (mod.rs's own folder for mod.rs).
                let is_folder_module = known.iter().any(|k| k.starts_with(&format!("{module}::")));
                let mut base = parent.clone();
                if !is_folder_module {
                    base.pop();
                }
                while rest.peek() == Some(&"super") {
                    rest.next();
                }
                parts.extend(base.iter().map(|s| s.to_string()));
            }
            _ => continue,
        }
        for part in rest {
            let part = part.trim_start_matches('{');
            if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_') {
                break;
            }
            parts.push(part.to_string());
        }
        while !parts.is_empty() && !known.contains(&parts.join("::")) {
            parts.pop();
        }
        let target = parts.join("::");
        if !parts.is_empty() && target != module && !module.starts_with(&format!("{target}::")) {
            found.insert(target);
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|(m, text)| (m.clone(), imports(m, text, &known)))
        .collect();
    let mut circles = Vec::new();
    for (a, targets) in &graph {
        for b in targets {
            if a < b && graph.get(b).is_some_and(|t| t.contains(a)) {
                circles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:?}"
    );
}
