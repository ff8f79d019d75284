//! An error and its causes as one line of text, for the places that cannot print a chain:
//! an HTTP answer, a log field, a summary line.
//!
//! Library errors name what failed and keep the system's error as their
//! [`source`](std::error::Error::source), so each cause is said once. A command line prints the
//! chain with `anyhow`'s `{:#}`; everything else uses [`error_chain`].

use std::error::Error;

/// `error`'s message and each of its causes', joined by `: `. A cause whose text is already the
/// end of the line so far (a wrapper that repeats its source) is not said twice.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = next.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("writing /data/x.parquet")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot store now")]
    struct Top(#[source] Outer);

    #[test]
    fn every_cause_once_in_order() {
        let error = Top(Outer(std::io::Error::other("No space left on device")));
        assert_eq!(error_chain(&error), "cannot store now: writing /data/x.parquet: No space left on device");
        let plain = std::io::Error::other("refused");
        assert_eq!(error_chain(&plain), "refused");
    }
}
