//! The README's quickstart is what CI runs: its first fenced block holds exactly the local run and
//! the test suite, and `.ci/run` runs that test command.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the first fenced code block after the `Quickstart` heading.
fn quickstart_commands(readme: &str) -> Vec<String> {
    let mut lines = readme.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with('#') && l.to_ascii_lowercase().contains("quickstart"))
        .expect("a Quickstart heading");
    lines
        .by_ref()
        .find(|l| l.trim_start().starts_with("```"))
        .expect("a fenced block in the Quickstart");
    lines
        .take_while(|l| !l.trim_start().starts_with("```"))
        .map(|l| l.split(" #").next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn readme_quickstart_is_the_local_run_then_the_test_suite() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let cmds = quickstart_commands(&readme);
    assert!(cmds.len() >= 2, "{cmds:?}");
    assert_eq!(cmds[0], "cargo run -p rtc-token -- serve");
    assert_eq!(cmds[1], "./scripts/test");
    // The run command names this package, and its binary is `rtc-token` with a `serve` subcommand.
    assert_eq!(env!("CARGO_PKG_NAME"), "rtc-token");
    assert!(env!("CARGO_BIN_EXE_rtc-token").ends_with("rtc-token"));
}

#[test]
fn ci_runs_the_readme_test_command() {
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    let runs: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert!(
        runs.iter().any(|l| *l == "./scripts/test"
            || *l == "exec ./scripts/test"
            || l.ends_with(" ./scripts/test")),
        ".ci/run does not run ./scripts/test: {runs:?}"
    );
    assert!(repo().join("scripts/test").exists());
}

#[test]
fn the_parser_takes_the_first_block_only() {
    let text = "# x\n```\nno\n```\n## Quickstart\ntext\n```sh\ncargo run -p rtc-token -- serve   # runs\n# comment\n./scripts/test\n```\n```\nlater\n```\n";
    assert_eq!(
        quickstart_commands(text),
        ["cargo run -p rtc-token -- serve", "./scripts/test"]
    );
}
