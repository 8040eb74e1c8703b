//! One accepted connection: the socket wrapped in [`GuardedStream`], which follows the request
//! framing as bytes are read, and the future that runs actix-http's HTTP/1 dispatcher over it
//! while enforcing the read deadline.
//!
//! When the deadline passes, the dispatcher is dropped, which closes the socket without a
//! response and drops any handler still waiting for the body (a transaction it opened rolls
//! back). When a head breaks the protocol, the dispatcher is told the client has finished
//! sending (end of stream); it completes what it has in hand, and just before the socket is shut
//! down the guard writes its own answer (`Connection: close`).

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use actix_http::error::{DispatchError, ParseError};
use actix_service::Service;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::framing::{Fault, Framing, Progress};
use super::Edge;

/// The socket as the dispatcher sees it.
pub struct GuardedStream {
    inner: TcpStream,
    framing: Framing,
    edge: Rc<Edge>,
    peer: Option<SocketAddr>,
    /// Shared with the connection future, which sleeps until it.
    deadline: Rc<Cell<Option<Instant>>>,
    /// After a fault the dispatcher reads nothing more than an end of stream.
    finished_reading: bool,
    /// Our own answer to a faulty head, written before the socket is shut down.
    answer: Option<(Vec<u8>, usize)>,
}

impl GuardedStream {
    fn after_read(&mut self, buf: &mut ReadBuf<'_>, before: usize) {
        let started = self.framing.started();
        let progress = self.framing.feed(&buf.filled()[before..]);
        if let Progress::Fault { valid, fault } = progress {
            buf.set_filled(before + valid);
            self.finished_reading = true;
            self.deadline.set(None);
            self.edge.protocol_fault(fault, self.peer);
            if let Some(status) = fault.status() {
                self.answer = Some((self.edge.answer(status, fault.describe()), 0));
            }
            return;
        }
        if !self.framing.receiving() {
            self.deadline.set(None);
        } else if self.framing.started() != started {
            // Measured from the first byte of the request now being received.
            self.deadline.set(Some(Instant::now() + self.edge.read_timeout));
        }
    }

    fn poll_write_answer(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.answer {
            if *written == bytes.len() {
                self.answer = None;
                break;
            }
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..])) {
                Ok(0) => self.answer = None,
                Ok(n) => *written += n,
                Err(e) => {
                    self.answer = None;
                    return Poll::Ready(Err(e));
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.finished_reading {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.after_read(buf, before);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The dispatcher shuts down only after the responses it owed are written, so the answer
        // to the faulty head comes after them, in order.
        ready!(this.poll_write_answer(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        // The dispatcher can end without shutting the socket down (the client stopped reading);
        // a short answer still fits the socket buffer, so try once without waiting.
        if let Some((bytes, written)) = self.answer.take() {
            let _ = self.inner.try_write(&bytes[written..]);
        }
    }
}

/// Bytes the kernel holds for this socket that nobody has read yet.
fn unread_bytes(fd: RawFd) -> usize {
    let mut pending: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut pending) };
    if rc == 0 {
        pending.max(0) as usize
    } else {
        0
    }
}

/// Runs one connection to its end.
pub async fn serve_connection<S>(h1: Rc<S>, stream: TcpStream, edge: Rc<Edge>)
where
    S: Service<(GuardedStream, Option<SocketAddr>), Response = (), Error = DispatchError>,
{
    let peer = stream.peer_addr().ok();
    let fd = stream.as_raw_fd();
    // A new connection has the read timeout to send its first request.
    let deadline = Rc::new(Cell::new(Some(Instant::now() + edge.read_timeout)));
    let io = GuardedStream {
        inner: stream,
        framing: Framing::new(),
        edge: Rc::clone(&edge),
        peer,
        deadline: Rc::clone(&deadline),
        finished_reading: false,
        answer: None,
    };
    let mut dispatcher = pin!(h1.call((io, peer)));
    let mut timer = pin!(tokio::time::sleep(Duration::ZERO));
    let outcome = poll_fn(|cx| {
        if let Poll::Ready(result) = dispatcher.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        while let Some(at) = deadline.get() {
            if timer.deadline() != at {
                timer.as_mut().reset(at);
            }
            ready!(timer.as_mut().poll(cx));
            // Bytes waiting in the socket mean the server, not the client, is behind (a
            // handler that has not consumed the body yet): that time does not count.
            if unread_bytes(fd) == 0 {
                return Poll::Ready(None);
            }
            deadline.set(Some(Instant::now() + edge.read_timeout.min(Duration::from_secs(1))));
        }
        Poll::Pending
    })
    .await;
    match outcome {
        // Returning drops the dispatcher: the socket closes with nothing written.
        None => edge.read_timed_out(peer),
        Some(Ok(())) => {}
        Some(Err(error)) => edge.dispatch_failed(&error, peer),
    }
}

/// The protocol fault behind a dispatcher error that actix-http detected itself (the guard
/// catches these first, so this is a backstop).
pub fn fault_of(error: &DispatchError) -> Option<Fault> {
    match error {
        DispatchError::Parse(ParseError::Method | ParseError::Uri(_) | ParseError::Version) => Some(Fault::RequestLine),
        DispatchError::Parse(ParseError::TooLarge) => Some(Fault::HeadTooLarge),
        DispatchError::Parse(ParseError::Io(_)) => Some(Fault::Body),
        DispatchError::Parse(_) => Some(Fault::Header),
        _ => None,
    }
}
