//! The error envelope also for requests hyper refuses before the application sees them.
//!
//! hyper answers a request head it cannot parse by itself: conflicting or negative
//! `Content-Length`, a malformed header, method, URI or version (400), a URI over 64 KiB (414),
//! more than 100 header fields or a head over hyper's read buffer (431). It writes a bare head with
//! an empty body and closes the connection, and hyper 1.x has no hook to choose that body
//! (`Http1Transaction::on_error` is private; `http1::Builder` only moves the limits).
//!
//! [`EnvelopeProtocolErrors`] wraps the connection's IO and recognises that answer on its way
//! out: the last bytes hyper writes on the connection, a status line of 400, 414 or 431 followed by
//! nothing but `content-length: 0`, `date` and `connection` headers. No response of the
//! application looks like that (each of its errors is an envelope with a `content-type`, and
//! every response carries `x-request-id`), so nothing else is touched. It writes the envelope,
//! with `Connection: close`, in its place.
//!
//! HTTP/2 is out of its reach: the `h2` crate refuses malformed requests itself, with a stream
//! reset or (for too large a header list) a bare 431 HEADERS frame, in binary frames that an IO
//! wrapper cannot rewrite without speaking HTTP/2.
//!
//! It reports itself as not vectored, so hyper hands it whole buffers: a head is then never
//! split across writes, except where this wrapper splits it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use sliderule_protocol::{ErrorBody, codes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's automatic heads are a status line and at most three short headers.
const LONGEST_AUTOMATIC_HEAD: usize = 256;

pub struct EnvelopeProtocolErrors<T> {
    inner: T,
    /// The envelope response still to write in place of hyper's head, and how much of it is out.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<T> EnvelopeProtocolErrors<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            replacement: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> EnvelopeProtocolErrors<T> {
    /// Writes what is left of the replacement; ready once all of it is out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopeProtocolErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopeProtocolErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_replacement(cx))?;
        match automatic_head_at_end(buf) {
            // The responses before it go out as they are, and the head comes back whole.
            Some((start, _)) if start > 0 => {
                Pin::new(&mut this.inner).poll_write(cx, &buf[..start])
            }
            Some((_, status)) => {
                this.replacement = Some((envelope_response(status, buf), 0));
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// Where a head that hyper wrote itself starts, when `buf` ends with one, and its status.
fn automatic_head_at_end(buf: &[u8]) -> Option<(usize, u16)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let tail_start = buf.len().saturating_sub(LONGEST_AUTOMATIC_HEAD);
    let tail = &buf[tail_start..];
    let start = tail.windows(7).rposition(|w| w == b"HTTP/1.")?;
    let head = std::str::from_utf8(&tail[start..]).ok()?;
    let mut lines = head.strip_suffix("\r\n\r\n")?.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431)
        || !matches!(status_line.get(..9)?, "HTTP/1.1 " | "HTTP/1.0 ")
    {
        return None;
    }
    let mut has_empty_length = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" if value.trim() == "0" => has_empty_length = true,
            "date" | "connection" => {}
            _ => return None,
        }
    }
    has_empty_length.then_some((tail_start + start, status))
}

/// The envelope response for hyper's `status`, keeping its `date` header.
fn envelope_response(status: u16, automatic: &[u8]) -> Vec<u8> {
    let (reason, body) = match status {
        431 => (
            "Request Header Fields Too Large",
            ErrorBody::new(
                codes::HEADERS_TOO_LARGE,
                "The request has too many header fields (at most 100) or too large a head \
                 (at most 400 KiB).",
            ),
        ),
        414 => (
            "URI Too Long",
            ErrorBody::new(
                codes::URI_TOO_LONG,
                "The request's URI is too long (at most 65534 bytes).",
            ),
        ),
        _ => (
            "Bad Request",
            ErrorBody::invalid_request(
                "The request is not valid HTTP: a header (such as a conflicting or negative \
                 Content-Length), the method, the URI or the version is malformed.",
            ),
        ),
    };
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let date = std::str::from_utf8(automatic)
        .ok()
        .and_then(|head| {
            head.split("\r\n")
                .find(|line| line.to_ascii_lowercase().starts_with("date:"))
        })
        .map(|line| format!("{line}\r\n"))
        .unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n{date}\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    const HYPER_400: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 07:40:00 GMT\r\n\r\n";

    async fn through_wrapper(writes: &[&[u8]]) -> String {
        let mut out = EnvelopeProtocolErrors::new(Vec::new());
        for bytes in writes {
            out.write_all(bytes).await.unwrap();
        }
        out.shutdown().await.unwrap();
        String::from_utf8(out.inner).unwrap()
    }

    #[tokio::test]
    async fn hypers_bare_400_becomes_the_envelope() {
        let out = through_wrapper(&[HYPER_400]).await;
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        assert!(out.contains("connection: close\r\n"), "{out}");
        assert!(
            out.contains("date: Thu, 03 Dec 2026 07:40:00 GMT\r\n"),
            "{out}"
        );
        let body: serde_json::Value =
            serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"], codes::INVALID_REQUEST);
    }

    #[tokio::test]
    async fn responses_written_before_the_automatic_head_are_kept() {
        let ours = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        let out = through_wrapper(&[&[&ours[..], HYPER_400].concat()]).await;
        assert!(
            out.starts_with(
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 400 Bad Request\r\n"
            ),
            "{out}"
        );
        assert!(out.ends_with('}'), "{out}");
    }

    #[tokio::test]
    async fn an_application_error_is_left_alone() {
        let ours = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(through_wrapper(&[ours.as_bytes()]).await, ours);
        let empty_ok = "HTTP/1.1 204 No Content\r\ndate: x\r\n\r\n";
        assert_eq!(through_wrapper(&[empty_ok.as_bytes()]).await, empty_ok);
    }
}
