//! How Nightjar's commands start their async runtime and learn that they must stop.

use std::io;

use tokio::runtime::Runtime;

/// A multi-threaded tokio runtime with I/O and timers, its threads named `name`;
/// `workers` threads, or one per core when `None`.
pub fn runtime(name: &str, workers: Option<usize>) -> io::Result<Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.thread_name(name).enable_all();
    if let Some(workers) = workers {
        builder.worker_threads(workers.max(1));
    }
    builder.build()
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM (`systemctl stop`, `kill`).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            // No SIGTERM handler could be installed: Ctrl-C still stops.
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_runs_timers_and_io() {
        let runtime = runtime("nj-test", Some(1)).expect("a runtime");
        let answered = runtime.block_on(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("loopback");
            listener.local_addr().is_ok()
        });
        assert!(answered);
    }
}
