//! Known research and measurement scanners, from a prefix list.
//!
//! The list is plain text, one prefix a line, optionally followed by the
//! organisation's name; `#` starts a comment:
//!
//! ```text
//! # Example research projects
//! 198.51.100.0/24   Example University scan project
//! 2001:db8:5c::/48  Example Measurement Org
//! ```

use crate::addr::{Addr16, Prefix, PrefixError};
use crate::prefix_map::PrefixMap;

/// The label given to a line that names no organisation.
pub const DEFAULT_RESEARCH_LABEL: &str = "research";

/// The bundled list, in the format above: internet-wide scanning
/// organisations' prefixes from the MISP warninglists (BSD-3-Clause), as
/// described in `crates/nightjar-packet/data/README.md`.
const BUNDLED_LIST: &str = include_str!("../data/research-scanners.txt");

/// Where the bundled list comes from, for outputs that say which list applied.
pub const BUNDLED_RESEARCH_LIST: &str = "bundled research scanner list (MISP warninglists, pymispwarninglists 1.7.0)";

/// A line of a research scanner list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct ResearchListError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong with it.
    #[source]
    pub source: PrefixError,
}

/// Research scanner prefixes with their organisation labels.
#[derive(Clone, Debug, Default)]
pub struct ResearchScanners {
    map: PrefixMap<String>,
}

impl ResearchScanners {
    /// Parse a list in the format above.
    pub fn parse(text: &str) -> Result<Self, ResearchListError> {
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (prefix_text, label) = match content.split_once(char::is_whitespace) {
                Some((p, l)) => (p, l.trim()),
                None => (content, ""),
            };
            let prefix: Prefix =
                prefix_text.parse().map_err(|source| ResearchListError { line: number + 1, source })?;
            let label = if label.is_empty() { DEFAULT_RESEARCH_LABEL } else { label };
            entries.push((prefix, label.to_string()));
        }
        Ok(ResearchScanners { map: PrefixMap::new(entries) })
    }

    /// The list bundled with Nightjar (see [`BUNDLED_RESEARCH_LIST`]): the
    /// default wherever no list is configured.
    pub fn bundled() -> Self {
        ResearchScanners::parse(BUNDLED_LIST).expect("the bundled research scanner list parses (checked by its test)")
    }

    /// The organisation label for a source address, if it is a research scanner.
    #[inline]
    pub fn label(&self, src: &Addr16) -> Option<&str> {
        self.map.get(src).map(String::as_str)
    }

    /// Number of prefixes in the list.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::addr;

    #[test]
    fn parses_labels_comments_and_bare_prefixes() {
        let list = ResearchScanners::parse("# header\n198.51.100.0/24  Example Univ  # trailing\n\n203.0.113.64/26\n")
            .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.label(&addr("198.51.100.3")), Some("Example Univ"));
        assert_eq!(list.label(&addr("203.0.113.70")), Some(DEFAULT_RESEARCH_LABEL));
        assert_eq!(list.label(&addr("203.0.113.1")), None);
    }

    #[test]
    fn bundled_list_parses_and_names_known_scanners() {
        let list = ResearchScanners::bundled();
        assert!(list.len() > 1_000, "{} prefixes", list.len());
        // Ranges the organisations publish themselves.
        assert_eq!(list.label(&addr("162.142.125.7")), Some("Censys"));
        assert_eq!(list.label(&addr("198.51.100.3")), None);
        assert_eq!(list.label(&addr("2602:80d:1000:b0cc:e::1")), Some("Censys"));
    }

    #[test]
    fn bad_line_is_named() {
        let err = ResearchScanners::parse("198.51.100.0/24 ok\nnot-a-prefix x\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }
}
