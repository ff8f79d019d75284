//! The README's commands exist and are spelled as the binary accepts them, and its one test
//! command is the one CI runs.

use std::path::Path;
use std::process::Command;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)).expect("repository file")
}

/// The lines of the README's `sh` code blocks, without trailing comments.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_shell = false;
    for line in readme.lines() {
        match line.trim() {
            "```sh" => in_shell = true,
            "```" => in_shell = false,
            text if in_shell && !text.is_empty() => {
                let without_comment = text.split("  #").next().unwrap_or(text).trim_end();
                lines.push(without_comment.to_owned());
            }
            _ => {}
        }
    }
    lines
}

/// Splits a command line into words, keeping double-quoted text together.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn help(path: &[&str]) -> String {
    let out = Command::new(NIGHTJAR).args(path).arg("--help").output().expect("nightjar runs");
    assert!(
        out.status.success(),
        "`nightjar {} --help` fails: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help text lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:")
        .nth(1)
        .map(|list| {
            list.lines()
                .skip(1)
                .take_while(|line| !line.trim().is_empty())
                // Names sit two spaces in; wrapped descriptions further.
                .filter(|line| line.starts_with("  ") && !line[2..].starts_with(' '))
                .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn every_nightjar_command_in_the_readme_is_accepted_by_the_binary() {
    let readme = repo_file("README.md");
    let mut checked = 0;
    for line in shell_lines(&readme) {
        let line = line.replace("cargo run --release -- ", "nightjar ");
        let all = words(&line);
        if all.first().map(String::as_str) != Some("nightjar") {
            continue;
        }
        let args = &all[1..];
        // The subcommand path: leading words the help texts list as subcommands.
        let mut path: Vec<&str> = Vec::new();
        let mut text = help(&[]);
        for word in args.iter().take_while(|word| !word.starts_with('-')) {
            if subcommands(&text).iter().any(|name| name == word) {
                path.push(word);
                text = help(&path);
            } else {
                break;
            }
        }
        assert!(!path.is_empty(), "`{line}`: `{}` is not a nightjar command", args.first().map_or("", |w| w));
        for flag in args.iter().filter(|word| word.starts_with("--")) {
            let name = flag.split('=').next().unwrap_or(flag);
            assert!(
                text.contains(&format!("{name} "))
                    || text.contains(&format!("{name}\n"))
                    || text.contains(&format!("{name}=")),
                "`{line}`: `nightjar {}` has no option {name}",
                path.join(" ")
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} nightjar commands found in the README");
}

fn the_readme_has_one_test_command_and_ci_runs_it() {
    let readme = repo_file("README.md");
    let tests: Vec<String> = shell_lines(&readme).into_iter().filter(|line| line.starts_with("cargo test")).collect();
    assert_eq!(tests, ["cargo test --workspace"], "the README's test commands");
    let ci = repo_file(".ci/run");
    assert!(ci.lines().any(|line| line.trim().starts_with(&tests[0])), "`.ci/run` does not run `{}`", tests[0]);
    let runs: Vec<String> = shell_lines(&readme).into_iter().filter(|line| line.starts_with("cargo run")).collect();
    assert_eq!(runs, ["cargo run --release -- demo"], "the README's one command for the main job");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(every_nightjar_command_in_the_readme_is_accepted_by_the_binary),
        trial!(the_readme_has_one_test_command_and_ci_runs_it),
    ]
}
