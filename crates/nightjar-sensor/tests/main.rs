//! The sensor's integration tests, as one test binary (`cargo test --workspace --test sensor`):
//! delivery through a real HTTP receiver, failover between two of them, and the example config under the real loader.

mod delivery;
mod example_config;
mod failover;
