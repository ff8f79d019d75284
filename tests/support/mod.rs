//! Support of the command's tests that runs the `nightjar` binary itself.

pub mod risk_data;
pub mod s3;
