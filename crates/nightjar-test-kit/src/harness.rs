//! The `main` of Nightjar's integration-test binaries (`harness = false`).
//!
//! Tests are plain functions registered with [`trial!`](crate::trial) and run
//! by [`run`] on libtest-mimic, which keeps libtest's command line: name
//! filters (`-- sql_cli::`), `--exact`, `--list`, `--ignored`,
//! `--test-threads`. A test named `name` in the module `sql_cli` is reported
//! as `sql_cli::name`.
//!
//! Tests run two at a time (libtest's default on two cores), like the
//! per-file binaries before them; a test that measures elapsed time
//! (`trial!(alone name)`) runs with no other test of the binary beside it.
//!
//! What libtest cannot say and this harness can: a test whose prerequisites
//! are missing on this machine returns [`Skipped`] and is reported *ignored*
//! with its reason, instead of passing; under `NIGHTJAR_SYSTEM_TESTS=require`
//! the prerequisite check fails the test instead (see [`crate::prereq`]).

use std::future::Future;
use std::process::ExitCode;
use std::sync::RwLock;

pub use libtest_mimic::Trial;
use libtest_mimic::{Arguments, Completion};

use crate::prereq::Skipped;

/// What a test function may return: `()` (it passed unless it panicked) or
/// `Result<(), Skipped>` (ignored with the reason when `Err`).
pub trait TestResult {
    /// libtest-mimic's word for how the test ended.
    fn completion(self) -> Completion;
}

impl TestResult for () {
    fn completion(self) -> Completion {
        Completion::Completed
    }
}

impl TestResult for Result<(), Skipped> {
    fn completion(self) -> Completion {
        match self {
            Ok(()) => Completion::Completed,
            Err(skipped) => Completion::ignored_with(skipped.reason()),
        }
    }
}

/// Held for reading by every running test, and for writing by a test that
/// must run alone. A test that panics poisons nothing: the guard is only a turn.
static TURN: RwLock<()> = RwLock::new(());

/// A trial named `module::name` (the module path without the binary's own
/// name) that runs `test`, beside other tests.
pub fn trial<R: TestResult>(module_path: &str, name: &str, test: impl FnOnce() -> R + Send + 'static) -> Trial {
    Trial::ignorable_test(test_name(module_path, name), move || {
        let _beside_others = TURN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(test().completion())
    })
}

/// A trial like [`trial`] that runs with no other test of the binary beside
/// it: for tests that assert how long something took.
pub fn trial_alone<R: TestResult>(module_path: &str, name: &str, test: impl FnOnce() -> R + Send + 'static) -> Trial {
    Trial::ignorable_test(test_name(module_path, name), move || {
        let _alone = TURN.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(test().completion())
    })
}

/// `cli::sql_cli` + `name` → `sql_cli::name`; a test in the binary's root keeps its bare name.
fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_binary, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    }
}

/// Run `future` to completion on a runtime of its own, as `#[tokio::test(flavor =
/// "multi_thread", worker_threads = 2)]` would.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a test can always build a tokio runtime")
        .block_on(future)
}

/// Parse libtest's command line, run `trials` and say how it went: the
/// binary's `main` returns this.
pub fn run(trials: Vec<Trial>) -> ExitCode {
    let arguments = Arguments::from_args();
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// Register a test function of the calling module as a [`Trial`]:
/// `trial!(name)` for `fn name()` or `fn name() -> Result<(), Skipped>`,
/// `trial!(async name)` for an `async fn` (run on a runtime of its own),
/// `trial!(alone name)` for a test that must not share the machine with another.
#[macro_export]
macro_rules! trial {
    (alone $test:ident) => {
        $crate::harness::trial_alone(module_path!(), stringify!($test), $test)
    };
    (async $test:ident) => {
        $crate::harness::trial(module_path!(), stringify!($test), || $crate::harness::block_on($test()))
    };
    ($test:ident) => {
        $crate::harness::trial(module_path!(), stringify!($test), $test)
    };
}

#[cfg(test)]
mod tests {
    use super::test_name;

    #[test]
    fn names_drop_the_binary_and_keep_the_module() {
        assert_eq!(test_name("cli::sql_cli", "limits"), "sql_cli::limits");
        assert_eq!(test_name("cli::a::b", "t"), "a::b::t");
        assert_eq!(test_name("cli", "t"), "t");
    }
}
