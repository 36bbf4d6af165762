//! For tests only: an S3-compatible server on the loopback interface,
//! started in this process — the `s3s-fs` crate, which keeps buckets as
//! directories and objects as files — with faults a test can inject: server
//! errors, connections cut in the middle of a response body, and the whole
//! server going away.
//!
//! Each server has its own temporary root, a bucket named [`BUCKET`] and
//! fixed credentials; [`S3Server::env`] gives the environment a client
//! (the `keepsake` binary) needs to reach it.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use tokio::runtime::Runtime;
use tokio::sync::Notify;

/// The bucket every server starts with.
pub const BUCKET: &str = "backups";
/// The access key id the server accepts.
pub const ACCESS_KEY_ID: &str = "keepsake-test";
/// The secret access key the server accepts.
pub const SECRET_ACCESS_KEY: &str = "keepsake-test-secret-0123456789";

type BoxError = Box<dyn StdError + Send + Sync>;

/// What the server does wrong, and what it has done.
#[derive(Default)]
struct Faults {
    /// Requests still to answer with `503 SlowDown`.
    fail_requests: AtomicU32,
    /// Response bodies still to cut off, and after how many bytes each.
    cut_bodies: AtomicU32,
    cut_after: AtomicU64,
    /// The server goes away once this many body bytes have been sent in all.
    stop_after: AtomicU64,
    down: AtomicBool,
    stopped: Notify,
    requests: AtomicU64,
    body_bytes: AtomicU64,
}

impl Faults {
    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.stopped.notify_waiters();
        self.stopped.notify_one();
    }
}

/// An S3-compatible server on 127.0.0.1, in this process. Dropping it stops it.
pub struct S3Server {
    root: tempfile::TempDir,
    address: SocketAddr,
    runtime: Option<Runtime>,
    faults: Arc<Faults>,
}

impl S3Server {
    /// Starts a server on a free port, with an empty bucket [`BUCKET`].
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(root.path().join(BUCKET)).expect("the bucket's directory");
        let filesystem = s3s_fs::FileSystem::new(root.path()).expect("an s3s-fs root");
        let mut builder = s3s::service::S3ServiceBuilder::new(filesystem);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
        ));
        let service = builder.build();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-s3")
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let address = listener.local_addr().expect("the port");
        let faults = Arc::new(Faults::default());
        runtime.spawn(serve(listener, service, faults.clone()));
        S3Server {
            root,
            address,
            runtime: Some(runtime),
            faults,
        }
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The environment a client needs: credentials, region and endpoint.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
        ]
    }

    /// The URL of `key` in the bucket, `s3://backups/KEY`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{BUCKET}/{key}")
    }

    /// The file the server keeps the object `key` of `bucket` in.
    pub fn object_file(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.path().join(bucket).join(key)
    }

    /// Whether the object `key` exists in [`BUCKET`].
    pub fn has_object(&self, key: &str) -> bool {
        self.object_file(BUCKET, key).is_file()
    }

    /// The server's root directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Parts of multipart uploads neither completed nor aborted.
    pub fn pending_parts(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| {
                        entry
                            .file_name()
                            .to_string_lossy()
                            .starts_with(".upload_id-")
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// Answers the next `count` requests with `503 SlowDown`, as a busy S3 does.
    pub fn fail_next_requests(&self, count: u32) {
        self.faults.fail_requests.store(count, Ordering::SeqCst);
    }

    /// Cuts the connection in the middle of the next `count` response
    /// bodies, after `after_bytes` bytes of each.
    pub fn cut_next_bodies(&self, count: u32, after_bytes: u64) {
        self.faults.cut_after.store(after_bytes, Ordering::SeqCst);
        self.faults.cut_bodies.store(count, Ordering::SeqCst);
    }

    /// Makes the server go away, as a crashed one does, once it has sent
    /// `bytes` body bytes in all: the connection sending them is cut, no
    /// new connection is accepted, and requests on open ones fail.
    pub fn stop_after_body_bytes(&self, bytes: u64) {
        self.faults.stop_after.store(bytes, Ordering::SeqCst);
    }

    /// Whether the server has gone away.
    pub fn is_down(&self) -> bool {
        self.faults.down.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.faults.requests.load(Ordering::SeqCst)
    }

    /// Response body bytes sent so far: what clients downloaded.
    pub fn body_bytes_sent(&self) -> u64 {
        self.faults.body_bytes.load(Ordering::SeqCst)
    }

    /// Stops the server now: its port closes and open connections drop.
    pub fn stop(&mut self) {
        self.faults.go_down();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    service: s3s::service::S3Service,
    faults: Arc<Faults>,
) {
    let connections = ConnectionBuilder::new(TokioExecutor::new());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = faults.stopped.notified() => return,
        };
        let Ok((socket, _)) = accepted else {
            continue;
        };
        if faults.down.load(Ordering::SeqCst) {
            return;
        }
        let service = service.clone();
        let faults = faults.clone();
        let handler = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let service = service.clone();
            let faults = faults.clone();
            async move { respond(&service, &faults, request).await }
        });
        let connection = connections
            .serve_connection(TokioIo::new(socket), handler)
            .into_owned();
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// Why the server dropped a connection without answering.
#[derive(Debug)]
struct Dropped(String);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Dropped {}

async fn respond(
    service: &s3s::service::S3Service,
    faults: &Arc<Faults>,
    request: http::Request<Incoming>,
) -> Result<http::Response<FaultyBody>, Dropped> {
    faults.requests.fetch_add(1, Ordering::SeqCst);
    if faults.down.load(Ordering::SeqCst) {
        // An error here makes hyper drop the connection without an answer.
        return Err(Dropped("the server has gone away".into()));
    }
    if Faults::take(&faults.fail_requests) {
        let body = Bytes::from_static(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
              <Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        );
        let response = http::Response::builder()
            .status(503)
            .header("content-type", "application/xml")
            .body(FaultyBody::fixed(body))
            .map_err(|error| Dropped(error.to_string()))?;
        return Ok(response);
    }
    let response = hyper::service::Service::call(service, request)
        .await
        .map_err(|error| Dropped(format!("{:?}", error)))?;
    let cut_after =
        Faults::take(&faults.cut_bodies).then(|| faults.cut_after.load(Ordering::SeqCst));
    Ok(response.map(|body| FaultyBody {
        inner: Some(body),
        fixed: None,
        sent: 0,
        cut_after,
        cut: false,
        faults: faults.clone(),
    }))
}

/// A response body that counts what it sends and breaks when told to.
struct FaultyBody {
    inner: Option<s3s::Body>,
    fixed: Option<Bytes>,
    sent: u64,
    cut_after: Option<u64>,
    /// The cut is due: the next poll fails.
    cut: bool,
    faults: Arc<Faults>,
}

impl FaultyBody {
    fn fixed(bytes: Bytes) -> Self {
        FaultyBody {
            inner: None,
            fixed: Some(bytes),
            sent: 0,
            cut_after: None,
            cut: false,
            faults: Arc::new(Faults::default()),
        }
    }

    /// How much of a frame of `len` bytes may go out before a cut.
    fn allowance(&self, len: u64) -> u64 {
        let mut allowed = len;
        if let Some(after) = self.cut_after {
            allowed = allowed.min(after.saturating_sub(self.sent));
        }
        let stop_after = self.faults.stop_after.load(Ordering::SeqCst);
        if stop_after > 0 {
            let sent = self.faults.body_bytes.load(Ordering::SeqCst);
            allowed = allowed.min(stop_after.saturating_sub(sent));
        }
        allowed
    }
}

impl Body for FaultyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(bytes) = this.fixed.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        if this.cut {
            if this.faults.stop_after.load(Ordering::SeqCst) > 0
                && this.faults.body_bytes.load(Ordering::SeqCst)
                    >= this.faults.stop_after.load(Ordering::SeqCst)
            {
                this.faults.go_down();
            }
            return Poll::Ready(Some(Err("the connection was cut".into())));
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    let len = data.len() as u64;
                    let allowed = this.allowance(len);
                    if allowed < len {
                        data.truncate(allowed as usize);
                        this.cut = true;
                    }
                    this.sent += data.len() as u64;
                    this.faults
                        .body_bytes
                        .fetch_add(data.len() as u64, Ordering::SeqCst);
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.fixed.is_none() && !self.cut && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.fixed, &self.inner) {
            (Some(bytes), _) => SizeHint::with_exact(bytes.len() as u64),
            (None, Some(inner)) => inner.size_hint(),
            (None, None) => SizeHint::with_exact(0),
        }
    }
}
