//! Reading the counts `nightjar import` prints in its summary.

/// The number at the end of the summary line that starts with `label`.
pub fn count(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .and_then(|line| line.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` line in the summary:\n{summary}"))
}
