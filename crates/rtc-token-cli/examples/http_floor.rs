//! The benchmark's floor: an HTTP/1.1 server that does no work, to measure what one request over
//! loopback costs before any token is minted (`bench/run.sh --servers ...,floor-raw,floor-hyper`).
//!
//! It answers every request with the same canned `201` JSON response of `--bytes` bytes (default:
//! the size of `rtc-token serve`'s LiveKit answer), on the same tokio runtime as `rtc-token serve`:
//! - `--mode raw`: tokio sockets and a minimal request framer (request line and headers up to the
//!   blank line, then `Content-Length` bytes of body): the kernel's loopback TCP path plus the
//!   runtime, nothing else;
//! - `--mode hyper`: hyper's HTTP/1 server with the same settings as `rtc-token serve` (header-read
//!   timeout, keep-alive), the body read and a canned response: what the HTTP layer adds.
//!
//! Not a server to deploy: no limits beyond a 64 KiB request, no error answers (a malformed request
//! closes the connection).
//!
//! `cargo build --release -p rtc-token --example http_floor`, then
//! `target/release/examples/http_floor --mode raw --addr 127.0.0.1:18793`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// The same allocator as `rtc-token serve`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `rtc-token serve`'s LiveKit answer in the benchmark, headers included (wrk's bytes / requests).
const DEFAULT_BYTES: usize = 539;
const MAX_REQUEST: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Raw,
    Hyper,
}

struct Args {
    addr: SocketAddr,
    mode: Mode,
    bytes: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut addr: SocketAddr = ([127, 0, 0, 1], 18793).into();
    let mut mode = Mode::Raw;
    let mut bytes = DEFAULT_BYTES;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--addr" => addr = v.parse().map_err(|e| format!("--addr: {e}"))?,
            "--mode" => {
                mode = match v.as_str() {
                    "raw" => Mode::Raw,
                    "hyper" => Mode::Hyper,
                    _ => return Err("--mode is raw or hyper".into()),
                }
            }
            "--bytes" => bytes = v.parse().map_err(|e| format!("--bytes: {e}"))?,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(Args { addr, mode, bytes })
}

/// The JSON body that makes the whole raw response `total` bytes long (at least `{}`).
fn body_for(total: usize, head_len: impl Fn(usize) -> usize) -> String {
    let mut len = 2;
    while len + head_len(len) < total {
        len += 1;
    }
    let mut body = String::with_capacity(len);
    body.push_str("{\"pad\":\"");
    while body.len() + 2 < len {
        body.push('x');
    }
    body.push_str("\"}");
    if body.len() > len {
        body = "{}".to_owned();
    }
    body
}

fn raw_head(body_len: usize) -> String {
    format!(
        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
         content-length: {body_len}\r\n\r\n"
    )
}

/// Bytes of the first complete request in `buf` (head and body), if there is one.
/// `Err` on a request that is not HTTP/1.x-shaped or too large.
fn request_len(buf: &[u8]) -> Result<Option<usize>, ()> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_REQUEST {
            Err(())
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| ())?;
    let mut content_length = 0usize;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().map_err(|_| ())?;
            }
        }
    }
    let total = end + 4 + content_length;
    if total > MAX_REQUEST {
        return Err(());
    }
    Ok((buf.len() >= total).then_some(total))
}

async fn raw_conn(mut stream: tokio::net::TcpStream, response: Bytes) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut answers = 0;
        loop {
            match request_len(&buf) {
                Ok(Some(len)) => {
                    buf.drain(..len);
                    answers += 1;
                }
                Ok(None) => break,
                Err(()) => return,
            }
        }
        for _ in 0..answers {
            if stream.write_all(&response).await.is_err() {
                return;
            }
        }
    }
}

async fn hyper_answer(
    req: hyper::Request<hyper::body::Incoming>,
    body: Bytes,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    // Read the request body, as `rtc-token serve` does before its handler runs.
    let _ = req.into_body().collect().await;
    let mut resp = hyper::Response::new(Full::new(body));
    *resp.status_mut() = hyper::StatusCode::CREATED;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http_floor: {e}");
            std::process::exit(2);
        }
    };
    // The same runtime as `rtc-token serve`.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("http_floor: cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("http_floor: cannot listen on {}: {e}", args.addr);
                std::process::exit(2);
            }
        };
        // hyper adds a `date` header (37 bytes with its CRLF) to the raw head's fields.
        let date_len = if args.mode == Mode::Hyper { 37 } else { 0 };
        let body = body_for(args.bytes, |n| raw_head(n).len() + date_len);
        let raw =
            Bytes::from([raw_head(body.len()).into_bytes(), body.clone().into_bytes()].concat());
        let body = Bytes::from(body);
        eprintln!(
            "http_floor: {} mode on http://{}, {}-byte body",
            if args.mode == Mode::Raw {
                "raw"
            } else {
                "hyper"
            },
            args.addr,
            body.len()
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            match args.mode {
                Mode::Raw => {
                    tokio::spawn(raw_conn(stream, raw.clone()));
                }
                Mode::Hyper => {
                    let body = body.clone();
                    let svc =
                        hyper::service::service_fn(move |req| hyper_answer(req, body.clone()));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_requests_by_content_length() {
        let req = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(request_len(req), Ok(Some(req.len())));
        assert_eq!(request_len(&req[..req.len() - 1]), Ok(None));
        assert_eq!(
            request_len(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Ok(Some(27))
        );
        assert_eq!(
            request_len(b"POST / HTTP/1.1\r\ncontent-length: x\r\n\r\n"),
            Err(())
        );
    }

    #[test]
    fn response_has_the_requested_size() {
        let body = body_for(539, |n| raw_head(n).len());
        assert_eq!(raw_head(body.len()).len() + body.len(), 539);
    }
}
