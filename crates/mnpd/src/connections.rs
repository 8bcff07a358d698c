//! Bounds on client connections, below HTTP: how long a new connection may
//! stay silent, and how many may be open at once.
//!
//! hyper's HTTP/1 head timeout starts only once the auto (HTTP/1 + HTTP/2)
//! builder has seen enough bytes to pick a protocol, so a connection that
//! never sends one would be held forever. The guard here times that first
//! byte itself and counts every connection. At the cap, the oldest
//! connection that has still sent nothing is closed to make room (a silent
//! connection costs a file descriptor and serves no one); when every open
//! connection has sent something, the new one is closed at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// File descriptors kept free of client connections: the database pool,
/// Redis, blob and staging files, uploads and outbound downloads.
pub const RESERVED_FDS: u64 = 256;

/// Raises the soft limit on open files to the hard limit, so the process
/// can use what the operator allows; answers the limit now in force.
#[cfg(unix)]
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur)
}

/// The connection cap that leaves [`RESERVED_FDS`] of `open_files` free:
/// `wanted`, lowered when the file limit is too small for it (to half of
/// the limit when the limit is smaller than the reserve itself).
pub fn connection_cap(wanted: usize, open_files: u64) -> usize {
    let room = if open_files > 2 * RESERVED_FDS {
        open_files - RESERVED_FDS
    } else {
        open_files / 2
    };
    wanted.min(room as usize).max(1)
}

/// A connection that has not sent a byte yet, as the registry sees it.
struct Silent {
    closed: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

#[derive(Default)]
struct Registry {
    open: usize,
    /// By order of arrival, so the first one is the oldest.
    silent: BTreeMap<u64, Silent>,
}

/// Counts connections and closes silent ones; an [`Accept`] layer under
/// TLS and HTTP.
#[derive(Clone)]
pub struct ConnectionGuard<A> {
    inner: A,
    shared: Arc<Shared>,
}

struct Shared {
    max: usize,
    first_byte_within: Duration,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
}

impl<A> ConnectionGuard<A> {
    pub fn new(inner: A, max: usize, first_byte_within: Duration) -> Self {
        ConnectionGuard {
            inner,
            shared: Arc::new(Shared {
                max,
                first_byte_within,
                next_id: AtomicU64::new(0),
                registry: Mutex::new(Registry::default()),
            }),
        }
    }
}

impl Shared {
    /// The registry; a panic elsewhere while it was held leaves counts that
    /// are still right, so a poisoned lock is taken as is.
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a place for a new connection, closing the oldest silent one
    /// when all are taken; none when every connection is busy.
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut registry = self.registry();
        if registry.open >= self.max {
            let (_, oldest) = registry.silent.pop_first()?;
            oldest.closed.store(true, Ordering::Release);
            if let Some(waker) = oldest
                .waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                waker.wake();
            }
            // Its place is handed over now; its drop will not free it again.
            registry.open -= 1;
        }
        registry.open += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let closed = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(Mutex::new(None));
        registry.silent.insert(
            id,
            Silent {
                closed: closed.clone(),
                waker: waker.clone(),
            },
        );
        Some(Admitted {
            shared: self.clone(),
            id,
            closed,
            waker,
        })
    }
}

/// A connection's place in the count, given back when it is dropped.
struct Admitted {
    shared: Arc<Shared>,
    id: u64,
    closed: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Admitted {
    /// The connection has spoken: it is no longer one to close for room.
    fn heard(&self) {
        let mut registry = self.shared.registry();
        registry.silent.remove(&self.id);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut registry = self.shared.registry();
        registry.silent.remove(&self.id);
        // An evicted connection's place was handed over when it was closed.
        if !self.closed.load(Ordering::Acquire) {
            registry.open -= 1;
        }
    }
}

impl<A, I, S> Accept<I, S> for ConnectionGuard<A>
where
    A: Accept<GuardedStream<I>, S> + Clone + Send + 'static,
    A::Future: Send,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(A::Stream, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let admitted = self.shared.admit();
        let inner = self.inner.clone();
        let first_byte_within = self.shared.first_byte_within;
        Box::pin(async move {
            let Some(admitted) = admitted else {
                tracing::warn!(
                    "connection limit reached and every connection is busy: refused one"
                );
                return Err(io::Error::other("connection limit reached"));
            };
            let guarded = GuardedStream {
                inner: stream,
                admitted,
                heard: false,
                deadline: Box::pin(tokio::time::sleep(first_byte_within)),
            };
            inner.accept(guarded, service).await
        })
    }
}

/// A client stream that must send its first byte in time, and is closed
/// when it is silent and its place is needed.
pub struct GuardedStream<I> {
    inner: I,
    /// Kept until the stream is dropped.
    admitted: Admitted,
    /// A byte has come: the deadline and eviction no longer apply.
    heard: bool,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<I: AsyncRead + Unpin> AsyncRead for GuardedStream<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.heard {
            if this.admitted.closed.load(Ordering::Acquire) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "closed to make room: no byte sent while the connection limit was reached",
                )));
            }
            if this.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no byte sent within the idle timeout",
                )));
            }
            *this
                .admitted
                .waker
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if !this.heard && matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.heard = true;
            this.admitted.heard();
        }
        read
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for GuardedStream<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_leaves_the_reserve_of_open_files() {
        assert_eq!(connection_cap(4096, 20_000), 4096);
        assert_eq!(connection_cap(4096, 1024), 1024 - RESERVED_FDS as usize);
        assert_eq!(connection_cap(4096, 512), 256);
        assert_eq!(connection_cap(4096, 256), 128);
        assert_eq!(connection_cap(4096, 1), 1);
    }
}
