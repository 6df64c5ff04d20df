//! The layering rules of `docs/architecture.md`, checked on the source: `domain/` knows no
//! web framework, no SQL driver and no runtime module; nothing but the binary and `lib.rs`
//! reaches into `app`; no source file grows past 800 lines.

use std::path::{Path, PathBuf};

/// What `domain/` may not name.
const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "axum",
    "sqlx",
    "crate::cache",
    "crate::changes",
    "crate::app",
    "crate::http",
    "crate::throttle",
    "crate::usage",
    "crate::jobs",
    "crate::auth",
    "crate::notify",
];

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of a file without its comments, so a doc comment may still name the runtime.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("source")
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn names(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn the_domain_knows_no_framework_driver_or_runtime_module() {
    let files = sources(&src().join("domain"));
    assert!(files.len() > 10, "the domain's files are found");
    let mut offences = Vec::new();
    for file in &files {
        let code = code(file);
        for name in FORBIDDEN_IN_DOMAIN {
            if names(&code, name) {
                offences.push(format!("{} names {name}", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn only_the_wiring_knows_the_wiring() {
    let offences: Vec<String> = sources(&src())
        .into_iter()
        .filter(|f| !f.starts_with(src().join("app")) && !f.ends_with("lib.rs"))
        .filter(|f| names(&code(f), "crate::app"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn no_source_file_grows_past_800_lines() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut long = Vec::new();
    for krate in [
        "cloudtrust-server",
        "cloudtrust-proto",
        "cloudtrust-client",
        "cloudtrust",
    ] {
        for file in sources(&crates.join(krate).join("src")) {
            let lines = std::fs::read_to_string(&file)
                .expect("source")
                .lines()
                .count();
            if lines > 800 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these by concern: {long:#?}");
}
