//! The layering check of issue 14: every `crate::<module>` path outside
//! comments and test modules, in every file under `cli/src`, is an arrow
//! between two top-level modules; each arrow must point down the stage
//! order in [`STAGES`] (the order `lib.rs`'s map documents), or be one of
//! the few known exceptions in [`UPWARD`]. A topological order that every
//! arrow respects means there is no cycle between top-level modules, so
//! no new cycle and no new import back up from a stage to a later one can
//! appear without failing here (naming the file and line). A second test
//! keeps [`UPWARD`] honest: an exception that is gone must be struck.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, lowest stage first: a module may import the ones
/// before it. Leaves, then the data flow of `devc up`, then the edge.
const STAGES: &[&str] = &[
    // Leaves every stage may use.
    "env",
    "cache",
    "suggest",
    "interrupt",
    "printer",
    "shell",
    // devcontainer.json → configuration.
    "config",
    // OCI artifacts, and the engine (which needs the registry credentials).
    "registry",
    "engine",
    // Features and templates, then the image they build.
    "features",
    "templates",
    "image",
    // The sync's file tree and state folder (the workspace copy records
    // the sync's base).
    "sync_state",
    // The container, Compose's services, the hooks, attaching, syncing.
    "container",
    "compose",
    "lifecycle",
    "attach",
    "sync",
    // The edge error gathers every stage's error enum.
    "error",
    // Whole operations over the stages.
    "collection_docs",
    "teardown",
    "volume_backup",
    "worktree",
    "up",
    "mcp",
    "commands",
];

/// Modules compiled only for tests (their imports are not the product's).
const TEST_ONLY: &[&str] = &["testutil", "import_graph"];

/// Arrows that point up the stage order, each with why it is still there.
/// Empty since issue 14 step 3 and the moves after it; do not add to it:
/// move the item to the lower stage (or the caller above hands it down).
const UPWARD: &[(&str, &str, &str)] = &[];

/// One arrow: where it was first seen.
type Arrows = BTreeMap<(String, String), String>;

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for the
/// crate root).
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The lines that count: no comments (doc links are not imports), no
/// `#[cfg(test)]` items (a test module runs to its closing brace at its
/// own indentation, as rustfmt writes it).
fn product_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim() == "#[cfg(test)]" {
            let indent = &line[..line.len() - line.trim_start().len()];
            let next = lines.get(i + 1).copied().unwrap_or("");
            i += 2;
            if next.trim_end().ends_with('{') {
                let close = format!("{indent}}}");
                while i < lines.len() && lines[i].trim_end() != close {
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        // A comment starts at a `//` after a space or at the line's start
        // (so `"https://…"` in a string is code).
        let code = line
            .match_indices("//")
            .find(|(at, _)| line[..*at].trim().is_empty() || line[..*at].ends_with(' '))
            .map_or(line, |(at, _)| &line[..at]);
        out.push((i + 1, code.to_string()));
        i += 1;
    }
    out
}

/// The top-level modules a line names through `crate::`, also inside
/// `crate::{a, b::c}` groups.
fn targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in line.match_indices("crate::") {
        // Not `foo_crate::` or `$crate::`.
        let before = line[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &line[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        out.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|t| !t.is_empty() && t != "self");
    out
}

fn arrows() -> Arrows {
    let root = source_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut arrows = Arrows::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under src").to_path_buf();
        let Some(from) = top_module(&relative) else {
            continue;
        };
        if TEST_ONLY.contains(&from.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (number, line) in product_lines(&text) {
            for to in targets(&line) {
                if to != from {
                    arrows
                        .entry((from.clone(), to))
                        .or_insert_with(|| format!("{}:{number}", relative.display()));
                }
            }
        }
    }
    arrows
}

fn rank(module: &str) -> Option<usize> {
    STAGES.iter().position(|m| *m == module)
}

#[test]
fn every_top_level_module_has_a_stage() {
    let declared: BTreeSet<String> = include_str!("lib.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let missing: Vec<_> = declared.iter().filter(|m| rank(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "give {missing:?} a place in import_graph::STAGES"
    );
}

#[test]
fn imports_point_down_the_stages_and_form_no_cycle() {
    let allowed: BTreeSet<(&str, &str)> = UPWARD.iter().map(|(a, b, _)| (*a, *b)).collect();
    let mut wrong = Vec::new();
    for ((from, to), at) in arrows() {
        if TEST_ONLY.contains(&to.as_str()) {
            wrong.push(format!("{at}: {from} → {to}, a test-only module"));
            continue;
        }
        let (Some(f), Some(t)) = (rank(&from), rank(&to)) else {
            wrong.push(format!("{at}: {from} → {to}: a module without a stage"));
            continue;
        };
        if t > f && !allowed.contains(&(from.as_str(), to.as_str())) {
            wrong.push(format!(
                "{at}: {from} → {to} imports a later stage (a cycle waits there); \
                 move what it uses down to {from} or below"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_allowed_upward_import_still_exists() {
    let arrows = arrows();
    let gone: Vec<_> = UPWARD
        .iter()
        .filter(|(a, b, _)| !arrows.contains_key(&(a.to_string(), b.to_string())))
        .map(|(a, b, _)| format!("{a} → {b}"))
        .collect();
    assert!(
        gone.is_empty(),
        "strike from import_graph::UPWARD: {gone:?}"
    );
    for (a, b, _) in UPWARD {
        assert!(rank(a) < rank(b), "{a} → {b} is not upward; strike it");
    }
}

#[test]
fn the_scanner_reads_paths_groups_and_skips_comments_and_tests() {
    assert_eq!(targets("use crate::config::MergedConfig;"), ["config"]);
    assert_eq!(
        targets("use crate::{engine::Engine, printer::{Reporter, Silent}};"),
        ["engine", "printer"]
    );
    assert_eq!(
        targets("let x = crate::image::uid::is_root(u) && $crate::y && foo_crate::z;"),
        ["image"]
    );
    let text = "use crate::a;\n/// see [`crate::b`]\nlet u = \"https://x\"; // crate::c\n#[cfg(test)]\nuse crate::d;\n#[cfg(test)]\nmod tests {\n    use crate::e;\n}\nfn f() { crate::g::h() }\n";
    let found: Vec<String> = product_lines(text)
        .iter()
        .flat_map(|(_, l)| targets(l))
        .collect();
    assert_eq!(found, ["a", "g"]);
}
