//! The interactive shell: line editing, history, statements over several lines, backslash commands.

use std::path::PathBuf;

use anyhow::Result;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use super::Session;
use super::meta::{self, MetaOutcome};

const PROMPT: &str = "nightjar> ";
const CONTINUATION: &str = "      ..> ";

/// Where the shell keeps its history: `$XDG_STATE_HOME/nightjar/sql_history`, else under `~/.local/state`.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    Some(state.join("nightjar/sql_history"))
}

/// Reads statements until `\q` or end of input, running each as it is completed by `;`.
pub async fn interactive(session: &mut Session) -> Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        // No history yet is normal.
        let _ = editor.load_history(path);
    }
    eprintln!("Nightjar SQL on {} — statements end with `;`, \\? for help, \\q to quit.", session.engine.dataset());
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { PROMPT } else { CONTINUATION };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        if buffer.is_empty() && line.trim_start().starts_with('\\') {
            let _ = editor.add_history_entry(line.trim());
            let mut out = std::io::stdout().lock();
            match meta::run(&session.engine, line.trim(), &mut out).await {
                Ok(MetaOutcome::Quit) => break,
                Ok(MetaOutcome::ToggleTiming) => {
                    session.timing = !session.timing;
                    eprintln!("Timing is {}.", if session.timing { "on" } else { "off" });
                }
                Ok(MetaOutcome::Continue) => {}
                Err(error) => eprintln!("error: {error:#}"),
            }
            continue;
        }
        if line.trim().is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !line.trim_end().ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.trim_end());
        if let Err(error) = session.run_script(&statement).await {
            eprintln!("error: {error:#}");
        }
    }
    if let Some(path) = &history {
        if let Some(folder) = path.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        if let Err(error) = editor.save_history(path) {
            eprintln!("note: history not saved to {}: {error}", path.display());
        }
    }
    Ok(())
}
