//! README.md's configuration tables document exactly the variables the code reads:
//! `token_service::config::ENV_VARS`, `caller_auth::AuthConfig::ENV_VARS` and, in the "Local server
//! only" table, `token_service::config::LOCAL_ENV_VARS`.

use std::collections::BTreeSet;

use token_service::config::{ENV_VARS, LOCAL_ENV_VARS};

/// The upper-case names in backticks in the first cell of every table row of `section`.
fn table_variables(section: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let first = line.split('|').nth(1).unwrap_or("");
        for (i, part) in first.split('`').enumerate() {
            let is_name = i % 2 == 1
                && !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if is_name {
                out.insert(part.to_owned());
            }
        }
    }
    out
}

fn names(lists: &[&[&str]]) -> BTreeSet<String> {
    lists
        .iter()
        .flat_map(|l| l.iter().map(|s| s.to_string()))
        .collect()
}

#[test]
fn the_readme_tables_list_exactly_the_variables_read() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("\n## Configuration")
        .expect("a Configuration section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let section = &rest[..end];
    let local_start = section
        .find("### Local server only")
        .expect("a local table");
    let local_end = section[local_start + 4..]
        .find("\n### ")
        .map_or(section.len(), |i| local_start + 4 + i);

    let local = table_variables(&section[local_start..local_end]);
    assert_eq!(local, names(&[LOCAL_ENV_VARS]), "the local server's table");
    let shared = table_variables(&format!(
        "{}{}",
        &section[..local_start],
        &section[local_end..]
    ));
    assert_eq!(
        shared,
        names(&[ENV_VARS, caller_auth::AuthConfig::ENV_VARS]),
        "the tables of both hosts"
    );
}
