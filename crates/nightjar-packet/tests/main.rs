//! The packet crate's integration tests, as one test binary (`cargo test --workspace --test packet`):
//! classification rules on hand-built packets, decoder properties, and the tool rules.

mod classification;
mod properties;
mod tool_rules;
