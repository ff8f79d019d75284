//! The collector's integration tests, as one test binary (`cargo test --workspace --test collector`):
//! the collector over real HTTP and HTTPS on loopback.

mod http;
mod rollups;
mod table;
mod tls;
