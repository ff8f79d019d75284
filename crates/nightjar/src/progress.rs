//! Progress on standard error for every step that can take longer than a second; nothing when
//! standard error is not a terminal or the command was asked to be quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress is drawn at all.
fn shown(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar over `total` bytes, labelled `label`.
pub fn bytes(label: &str, total: u64, quiet: bool) -> ProgressBar {
    styled(total, quiet, "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}", label)
}

/// A bar over `total` rows, labelled `label`.
pub fn rows(label: &str, total: u64, quiet: bool) -> ProgressBar {
    styled(total, quiet, "{msg} [{bar:40}] {human_pos}/{human_len} rows {elapsed} eta {eta}", label)
}

/// A bar over `total` steps; the message names the step under way.
pub fn steps(label: &str, total: u64, quiet: bool) -> ProgressBar {
    styled(total, quiet, "{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}", label)
}

/// A spinner for one step whose length is not known, with the time it has taken so far.
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    if !shown(quiet) {
        return ProgressBar::hidden();
    }
    // Drawn only once styled and labelled, so the first frame is not a bare default bar.
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(message.to_string());
    spinner.set_draw_target(ProgressDrawTarget::stderr());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

fn styled(total: u64, quiet: bool, template: &str, label: &str) -> ProgressBar {
    if !shown(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar.set_prefix(label.to_string());
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
