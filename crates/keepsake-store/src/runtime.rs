//! The runtime the blocking calls run their requests on.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// Worker threads: enough that a part upload or a download goes on while the
/// caller compresses or decodes the next chunk.
const WORKERS: usize = 2;

static RUNTIME: OnceLock<std::io::Result<Runtime>> = OnceLock::new();

/// TLS goes through rustls with ring, installed once for the process before
/// any client is built; an application that installed its own provider keeps it.
pub(crate) fn install_crypto() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn runtime() -> std::io::Result<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name("keepsake-store")
                .enable_all()
                .build()
        })
        .as_ref()
        .map_err(|error| std::io::Error::new(error.kind(), error.to_string()))
}

/// Runs `future` to completion on the runtime, blocking this thread.
pub(crate) fn block_on<F: Future>(future: F) -> std::io::Result<F::Output> {
    Ok(runtime()?.block_on(future))
}

/// The runtime's handle, for spawning background work.
pub(crate) fn handle() -> std::io::Result<tokio::runtime::Handle> {
    Ok(runtime()?.handle().clone())
}
