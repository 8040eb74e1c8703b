//! Where each request on a connection begins and ends, as the bytes arrive: the connection guard
//! needs it to run the read timeout from a request's first byte to the last byte of its body, and
//! to refuse a head that actix-http would answer with a bare 400/431 before actix sees it.
//!
//! The head is checked with `httparse` (the parser actix-http uses, same header limit) plus the
//! header rules actix-http adds after parsing, so both agree on what is a valid request. Bodies
//! are followed by `Content-Length` or by the chunked coding, byte for byte as actix decodes them.
//! Pure: no I/O, no clock.

use actix_web::http::{Method, Uri};

/// spec §2.9: request line plus headers may total at most 64 KiB.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// actix-http parses at most this many headers; more is refused like an oversized head.
const MAX_HEADERS: usize = 96;

/// A client's breach of HTTP/1.1 framing. Each is a `kind` of
/// `hyperfleet_http_protocol_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request line is not `METHOD target HTTP/1.x`, or the target is not a valid URI.
    RequestLine,
    /// A header line is malformed, or the framing headers (`Content-Length`,
    /// `Transfer-Encoding`, `Host`) contradict each other.
    Header,
    /// Request line plus headers over 64 KiB, or more than 96 headers.
    HeadTooLarge,
    /// The chunked coding of a body is broken.
    Body,
}

impl Fault {
    pub const ALL: [Fault; 4] = [Fault::RequestLine, Fault::Header, Fault::HeadTooLarge, Fault::Body];

    /// The `kind` label of `hyperfleet_http_protocol_errors_total`.
    pub fn kind(self) -> &'static str {
        match self {
            Fault::RequestLine => "request_line",
            Fault::Header => "header",
            Fault::HeadTooLarge => "head_too_large",
            Fault::Body => "body",
        }
    }

    /// The answer's status when the head is at fault; a body fault is answered by the handler
    /// that reads the body (its payload ends in an error).
    pub fn status(self) -> Option<u16> {
        match self {
            Fault::RequestLine | Fault::Header => Some(400),
            Fault::HeadTooLarge => Some(431),
            Fault::Body => None,
        }
    }

    /// What went wrong, for the error body's reason (after `Invalid request format: `).
    pub fn describe(self) -> &'static str {
        match self {
            Fault::RequestLine => "malformed request line",
            Fault::Header => "malformed request header",
            Fault::HeadTooLarge => "request header fields too large",
            Fault::Body => "malformed chunked body",
        }
    }
}

/// The outcome of feeding bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Every byte belongs to well-formed requests (possibly still incomplete).
    Valid,
    /// The first `valid` bytes are fine and may be handed on; the rest breaks the protocol.
    Fault { valid: usize, fault: Fault },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    SizeFirst,
    SizeRest,
    SizeLws,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests: the next byte starts one.
    Idle,
    /// Inside a request head.
    Head,
    /// Inside a `Content-Length` body; the bytes still to come.
    Length(u64),
    /// Inside a chunked body: the decoder state and the bytes left in the current chunk.
    Chunked(Chunk, u64),
    /// A body that lasts until the connection closes (`CONNECT`, a WebSocket upgrade): nothing
    /// after it is a request, so nothing is followed any more.
    Stream,
}

/// The framing state of one connection.
#[derive(Debug)]
pub struct Framing {
    state: State,
    /// The bytes of the current head so far (at most [`MAX_HEAD_BYTES`] plus one read).
    head: Vec<u8>,
    /// Requests whose first byte has arrived.
    started: u64,
}

impl Default for Framing {
    fn default() -> Self {
        Self::new()
    }
}

impl Framing {
    pub fn new() -> Self {
        Framing { state: State::Idle, head: Vec::new(), started: 0 }
    }

    /// A request has begun and not all of it has arrived yet.
    pub fn receiving(&self) -> bool {
        !matches!(self.state, State::Idle | State::Stream)
    }

    /// How many requests have begun on this connection.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// Follows `bytes`, the next bytes the client sent.
    pub fn feed(&mut self, bytes: &[u8]) -> Progress {
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let used = match self.state {
                State::Idle => {
                    self.started += 1;
                    self.state = State::Head;
                    self.head.clear();
                    0
                }
                State::Head => match self.feed_head(rest) {
                    Ok(used) => used,
                    // The head's earlier bytes were handed on already; none of this one's are.
                    Err(fault) => return Progress::Fault { valid: at, fault },
                },
                State::Length(left) => {
                    let used = left.min(rest.len() as u64);
                    self.state = if used == left { State::Idle } else { State::Length(left - used) };
                    used as usize
                }
                State::Chunked(chunk, left) => match self.feed_chunked(chunk, left, rest) {
                    Ok(used) => used,
                    Err(bad) => return Progress::Fault { valid: at + bad, fault: Fault::Body },
                },
                State::Stream => rest.len(),
            };
            at += used;
        }
        Progress::Valid
    }

    /// Appends to the head and parses it; returns how many of `rest` belong to the head.
    fn feed_head(&mut self, rest: &[u8]) -> Result<usize, Fault> {
        let before = self.head.len();
        self.head.extend_from_slice(rest);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&self.head) {
            Ok(httparse::Status::Complete(len)) => {
                if len > MAX_HEAD_BYTES {
                    return Err(Fault::HeadTooLarge);
                }
                self.state = body_of(&request)?;
                self.release_head();
                Ok(len - before)
            }
            Ok(httparse::Status::Partial) if self.head.len() > MAX_HEAD_BYTES => Err(Fault::HeadTooLarge),
            Ok(httparse::Status::Partial) => Ok(rest.len()),
            Err(httparse::Error::TooManyHeaders) => Err(Fault::HeadTooLarge),
            Err(httparse::Error::HeaderName | httparse::Error::HeaderValue | httparse::Error::NewLine) => {
                Err(Fault::Header)
            }
            Err(_) => Err(Fault::RequestLine),
        }
    }

    /// A connection keeps at most a small head buffer between requests.
    fn release_head(&mut self) {
        if self.head.capacity() > 8 * 1024 {
            self.head = Vec::new();
        } else {
            self.head.clear();
        }
    }

    /// Steps the chunked decoder over `rest`; returns the bytes used, or the offset of the first
    /// byte that breaks the coding. Mirrors actix-http's `ChunkedState`.
    fn feed_chunked(&mut self, mut chunk: Chunk, mut left: u64, rest: &[u8]) -> Result<usize, usize> {
        let mut i = 0;
        while i < rest.len() {
            if chunk == Chunk::Data {
                let take = left.min((rest.len() - i) as u64);
                i += take as usize;
                left -= take;
                if left == 0 {
                    chunk = Chunk::DataCr;
                }
                continue;
            }
            let byte = rest[i];
            i += 1;
            chunk = match (chunk, byte) {
                (Chunk::SizeFirst, b) if b.is_ascii_hexdigit() => {
                    left = hex(b);
                    Chunk::SizeRest
                }
                (Chunk::SizeRest, b) if b.is_ascii_hexdigit() => {
                    left = left.checked_mul(16).map(|n| n + hex(b)).ok_or(i - 1)?;
                    Chunk::SizeRest
                }
                (Chunk::SizeRest | Chunk::SizeLws, b'\t' | b' ') => Chunk::SizeLws,
                (Chunk::SizeRest | Chunk::SizeLws, b';') => Chunk::Extension,
                (Chunk::SizeRest | Chunk::SizeLws | Chunk::Extension, b'\r') => Chunk::SizeLf,
                (Chunk::Extension, 0x00..=0x08 | 0x0a..=0x1f | 0x7f) => return Err(i - 1),
                (Chunk::Extension, _) => Chunk::Extension,
                (Chunk::SizeLf, b'\n') if left > 0 => Chunk::Data,
                (Chunk::SizeLf, b'\n') => Chunk::EndCr,
                (Chunk::DataCr, b'\r') => Chunk::DataLf,
                (Chunk::DataLf, b'\n') => Chunk::SizeFirst,
                (Chunk::Trailer, b'\r') => Chunk::TrailerLf,
                (Chunk::Trailer, _) => Chunk::Trailer,
                (Chunk::TrailerLf, b'\n') => Chunk::EndCr,
                (Chunk::EndCr, b'\r') => Chunk::EndLf,
                (Chunk::EndCr, _) => Chunk::Trailer,
                (Chunk::EndLf, b'\n') => {
                    self.state = State::Idle;
                    return Ok(i);
                }
                _ => return Err(i - 1),
            };
        }
        self.state = State::Chunked(chunk, left);
        Ok(i)
    }
}

fn hex(b: u8) -> u64 {
    (b as char).to_digit(16).map_or(0, u64::from)
}

/// Checks a complete head the way actix-http does after parsing it, and says how its body is
/// framed.
fn body_of(request: &httparse::Request<'_, '_>) -> Result<State, Fault> {
    let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes()).map_err(|_| Fault::RequestLine)?;
    Uri::try_from(request.path.unwrap_or_default()).map_err(|_| Fault::RequestLine)?;
    let http11 = request.version == Some(1);
    let (mut length, mut chunked, mut transfer_encoding, mut host, mut websocket) = (None, false, false, false, false);
    for header in request.headers.iter() {
        let value = std::str::from_utf8(header.value).map(str::trim);
        if header.name.eq_ignore_ascii_case("content-length") {
            match value {
                Ok(v) if length.is_none() && !v.starts_with('+') => {
                    length = Some(v.parse::<u64>().map_err(|_| Fault::Header)?);
                }
                _ => return Err(Fault::Header),
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if transfer_encoding || !http11 {
                return Err(Fault::Header);
            }
            transfer_encoding = true;
            // actix-http accepts `identity` while parsing, then insists on `chunked`.
            chunked = value.is_ok_and(|v| v.eq_ignore_ascii_case("chunked"));
            if !chunked {
                return Err(Fault::Header);
            }
        } else if header.name.eq_ignore_ascii_case("host") {
            if host {
                return Err(Fault::Header);
            }
            host = true;
        } else if header.name.eq_ignore_ascii_case("upgrade") {
            websocket = value.is_ok_and(|v| v.eq_ignore_ascii_case("websocket"));
        }
    }
    if (http11 && !host) || (transfer_encoding && length.is_some()) {
        return Err(Fault::Header);
    }
    if !http11 && method == Method::POST && length.is_none() {
        return Err(Fault::Header);
    }
    Ok(if chunked {
        State::Chunked(Chunk::SizeFirst, 0)
    } else if websocket {
        State::Stream
    } else {
        match length {
            Some(n) if n > 0 => State::Length(n),
            _ if method == Method::CONNECT => State::Stream,
            _ => State::Idle,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(parts: &[&[u8]]) -> (Framing, Vec<Progress>) {
        let mut framing = Framing::new();
        let progress = parts.iter().map(|p| framing.feed(p)).collect();
        (framing, progress)
    }

    #[test]
    fn a_request_without_body_is_complete_after_its_head() {
        let (framing, progress) = fed(&[b"GET / HTTP/1.1\r\nHost: x\r\n", b"\r\n"]);
        assert_eq!(progress, [Progress::Valid, Progress::Valid]);
        assert!(!framing.receiving());
        assert_eq!(framing.started(), 1);
    }

    #[test]
    fn a_half_sent_head_or_body_is_still_being_received() {
        let (framing, _) = fed(&[b"GET / HT"]);
        assert!(framing.receiving(), "half a request line");
        let (framing, _) = fed(&[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"]);
        assert!(framing.receiving(), "10 of 100 body bytes");
    }

    #[test]
    fn a_length_body_ends_exactly_at_its_length_and_the_next_request_begins() {
        let (framing, progress) =
            fed(&[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab", b"cGET / HTTP/1.1\r\nHo"]);
        assert_eq!(progress, [Progress::Valid, Progress::Valid]);
        assert!(framing.receiving(), "the second request is half sent");
        assert_eq!(framing.started(), 2);
    }

    #[test]
    fn a_chunked_body_ends_after_the_last_chunk_and_its_trailers() {
        let body: &[&[u8]] = &[
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5;ext=1\r\nhel",
            b"lo\r\n0\r\nX-Trailer: y\r\n",
            b"\r\n",
        ];
        let mut framing = Framing::new();
        for (i, part) in body.iter().enumerate() {
            assert_eq!(framing.feed(part), Progress::Valid, "part {i}");
            assert_eq!(framing.receiving(), i + 1 < body.len(), "part {i}");
        }
    }

    #[test]
    fn a_broken_chunk_size_is_a_body_fault_at_its_first_bad_byte() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (_, progress) = fed(&[head, b"zz\r\n"]);
        assert_eq!(progress[1], Progress::Fault { valid: 0, fault: Fault::Body });
        let (_, progress) = fed(&[head, b"2\r\nab\rX"]);
        assert_eq!(progress[1], Progress::Fault { valid: 6, fault: Fault::Body });
    }

    #[test]
    fn heads_that_actix_would_refuse_are_faults_of_their_kind() {
        let cases: &[(&[u8], Fault, &str)] = &[
            (b"GARBAGE\r\n\r\n", Fault::RequestLine, "no target"),
            (b"\x16\x03\x01\x02\x00\x01\x00", Fault::RequestLine, "a TLS hello"),
            (b"GET /a HTTP/9.9\r\n\r\n", Fault::RequestLine, "unknown version"),
            (b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", Fault::RequestLine, "NUL in the target"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", Fault::Header, "space in a name"),
            (b"GET / HTTP/1.1\r\n\r\n", Fault::Header, "no Host in HTTP/1.1"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", Fault::Header, "two Hosts"),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                Fault::Header,
                "two lengths",
            ),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", Fault::Header, "signed length"),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,2\r\n\r\n", Fault::Header, "list length"),
            (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", Fault::Header, "not chunked"),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Fault::Header,
                "both framings",
            ),
            (b"POST / HTTP/1.0\r\n\r\n", Fault::Header, "HTTP/1.0 POST without length"),
        ];
        for (bytes, fault, what) in cases {
            let (_, progress) = fed(&[bytes]);
            assert_eq!(progress[0], Progress::Fault { valid: 0, fault: *fault }, "{what}");
        }
    }

    #[test]
    fn a_fault_in_a_later_request_keeps_the_earlier_bytes_valid() {
        let first = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut bytes = first.to_vec();
        bytes.extend_from_slice(b"NOT HTTP AT ALL\r\n\r\n");
        let (_, progress) = fed(&[&bytes]);
        assert_eq!(progress[0], Progress::Fault { valid: first.len(), fault: Fault::RequestLine });
    }

    #[test]
    fn heads_over_64_kib_or_96_headers_are_too_large() {
        let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(MAX_HEAD_BYTES));
        let (_, progress) = fed(&[big.as_bytes()]);
        assert_eq!(progress[0], Progress::Fault { valid: 0, fault: Fault::HeadTooLarge });
        let partial = format!("GET / HTTP/1.1\r\nX-Big: {}", "a".repeat(MAX_HEAD_BYTES));
        let (_, progress) = fed(&[partial.as_bytes()]);
        assert_eq!(progress[0], Progress::Fault { valid: 0, fault: Fault::HeadTooLarge }, "never completed");
        let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
        let (_, progress) = fed(&[format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes()]);
        assert_eq!(progress[0], Progress::Fault { valid: 0, fault: Fault::HeadTooLarge });
        let fits = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(60 * 1024));
        assert_eq!(fed(&[fits.as_bytes()]).1[0], Progress::Valid, "60 KiB of header fits");
    }

    #[test]
    fn connect_and_websocket_upgrades_stop_the_framing() {
        let (framing, progress) = fed(&[b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\nanything at all"]);
        assert_eq!(progress[0], Progress::Valid);
        assert!(!framing.receiving());
    }
}
