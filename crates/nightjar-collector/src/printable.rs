//! Text that came from a sensor, made safe to print on a terminal or in a log.
//!
//! Sensor-supplied strings (a claimed sensor id, an error message quoting a
//! header) can hold terminal escape sequences, carriage returns or
//! bidirectional overrides that would rewrite what an operator sees. They go
//! through [`printable`] before they are stored or shown.

/// Characters that reorder text on screen without being control characters.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One character as it is shown: itself, or its escape.
fn shown(c: char) -> String {
    if c.is_control() || is_bidi_control(c) { c.escape_default().collect() } else { c.to_string() }
}

/// `text` with every control or reordering character written as an escape
/// (`\u{1b}`, `\n`), cut to at most `max_chars` characters of output (an
/// ellipsis marks the cut). Escapes are never cut in half.
///
/// ```
/// use nightjar_collector::printable::printable;
/// assert_eq!(printable("tokyo-1\u{1b}[2J", 64), "tokyo-1\\u{1b}[2J");
/// assert_eq!(printable("abcdef", 4), "abc…");
/// ```
pub fn printable(text: &str, max_chars: usize) -> String {
    let pieces: Vec<String> = text.chars().map(shown).collect();
    let total: usize = pieces.iter().map(|p| p.chars().count()).sum();
    if total <= max_chars {
        return pieces.concat();
    }
    let mut out = String::new();
    let mut used = 0;
    for piece in pieces {
        let width = piece.chars().count();
        // One character stays free for the ellipsis.
        if used + width >= max_chars {
            break;
        }
        out.push_str(&piece);
        used += width;
    }
    if max_chars > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_line_breaks_are_written_out() {
        let shown = printable("a\u{1b}]0;owned\u{7}\r\nb\u{202e}c", 200);
        assert!(!shown.chars().any(|c| c.is_control() || is_bidi_control(c)), "{shown:?}");
        assert_eq!(shown, "a\\u{1b}]0;owned\\u{7}\\r\\nb\\u{202e}c");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_escapes_stay_whole() {
        assert_eq!(printable("tokyo-1", 7), "tokyo-1");
        assert_eq!(printable("tokyo-12", 7), "tokyo-…");
        // The escape `\u{1b}` is 6 characters: it does not fit in 5, so it is left out whole.
        assert_eq!(printable("ab\u{1b}cd", 5), "ab…");
        assert_eq!(printable("日本語テキスト", 4).chars().count(), 4);
        assert_eq!(printable("anything", 0), "");
    }
}
