//! `rtc-token serve`: the local host of the three token routes.
//!
//! Each HTTP request becomes the `lambda_http::Request` the Lambda runtime would build from the API
//! Gateway HTTP API (payload 2.0) event for it — built directly with lambda_http's own request
//! extensions ([`to_lambda_request`]; a test checks it equals the request lambda_http deserialises from
//! the equivalent event) — and is answered by the SAME `token_service::handle` the functions run.
//! Nothing about the request path is re-implemented here: only the socket, the request envelope and
//! the embedded development defaults (see [`crate::dev_defaults`]).
//!
//! Safety rails: while a development credential or the development caller issuer is in use, the server
//! refuses to listen on anything but a loopback address (exit 2).

use crate::dev_defaults::{self, LocalCredentials};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Response};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest body the local server reads before answering 413 (the handler's own cap is smaller).
const MAX_READ_BODY: usize = 1024 * 1024;

/// How long Ctrl-C waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Only loopback addresses are allowed while development credentials or
    /// the development caller issuer are in use. Port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
}

/// Installs jsonwebtoken's aws-lc-rs provider once (ignored if one is installed already), so a feature
/// mix-up can never panic on a request.
pub fn install_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// A future answering one request.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// Answers a `lambda_http::Request` (the Lambda handler contract).
pub type Dispatch = Arc<dyn Fn(lambda_http::Request) -> ResponseFuture + Send + Sync>;

/// What the start-up line reports (never a value, only where values come from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultsInUse {
    /// Providers on development credentials.
    pub providers: Vec<&'static str>,
    /// The development caller issuer is on.
    pub dev_issuer: bool,
    /// Policies on the embedded defaults.
    pub policy_defaults: bool,
}

impl DefaultsInUse {
    /// `true` when anything development-only is in use.
    pub fn any_dev(&self) -> bool {
        !self.providers.is_empty() || self.dev_issuer
    }

    /// The start-up description.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.providers.is_empty() {
            parts.push("provider credentials from the environment".to_owned());
        } else {
            parts.push(format!(
                "DEVELOPMENT ONLY credentials for {}",
                self.providers.join(", ")
            ));
        }
        if self.dev_issuer {
            parts.push(format!(
                "DEVELOPMENT caller issuer {} (mint a caller JWT with `rtc-token dev-jwt --sub alice`)",
                dev_defaults::DEV_ISSUER
            ));
        } else {
            parts.push("caller auth from AUTH_* variables".to_owned());
        }
        if self.policy_defaults {
            parts.push("default policies".to_owned());
        }
        parts.join("; ")
    }
}

/// The refusal message when `addr` is not loopback but development material is in use.
pub fn check_bind(addr: &SocketAddr, defaults: &DefaultsInUse) -> Result<(), String> {
    if addr.ip().is_loopback() || !defaults.any_dev() {
        return Ok(());
    }
    let mut what = Vec::new();
    if !defaults.providers.is_empty() {
        what.push(format!(
            "development credentials for {}",
            defaults.providers.join(", ")
        ));
    }
    if defaults.dev_issuer {
        what.push("the development caller issuer".to_owned());
    }
    Err(format!(
        "refusing to listen on non-loopback address {addr} while {} are in use; set the provider \
         variables (AGORA_APP_ID, AGORA_APP_CERTIFICATE, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, \
         STREAM_API_KEY, STREAM_API_SECRET) and caller-auth variables (AUTH_PROVIDER, AUTH_ISSUER, ...), \
         or listen on 127.0.0.1",
        what.join(" and ")
    ))
}

/// Runs the command; returns the process exit code.
pub fn run(args: ServeArgs) -> u8 {
    install_crypto_provider();
    // One JSON log line per request on stdout, exactly as the functions log (RUST_LOG filters).
    token_service::telemetry::init_json_logs();
    let get = |k: &str| std::env::var(k).ok();
    let creds = LocalCredentials::resolve(&get);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rtc-token serve: cannot start the runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async move {
        let (dispatch, defaults) = match crate::serve_wiring::build(&get, &creds).await {
            Ok(v) => v,
            Err(msg) => {
                eprintln!("rtc-token serve: {msg}");
                return 2;
            }
        };
        if let Err(msg) = check_bind(&args.addr, &defaults) {
            eprintln!("rtc-token serve: {msg}");
            return 2;
        }
        let listener = match tokio::net::TcpListener::bind(args.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rtc-token serve: cannot listen on {}: {e}", args.addr);
                return 2;
            }
        };
        let local = listener.local_addr().unwrap_or(args.addr);
        let shutdown = shutdown_signal();
        eprintln!(
            "rtc-token serve: listening on http://{local} (POST /agora/token, /livekit/token, /stream/token); {}",
            defaults.describe()
        );
        serve(listener, dispatch, shutdown).await;
        eprintln!("rtc-token serve: stopped");
        0
    })
}

/// Registers the Ctrl-C (SIGINT) and SIGTERM handlers now, so a signal that arrives right after the
/// start-up line is already a graceful shutdown, and returns the future that resolves on either.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Accepts connections until `shutdown` resolves, then lets requests in flight finish (bounded).
pub async fn serve(
    listener: tokio::net::TcpListener,
    dispatch: Dispatch,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let counter = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("rtc-token serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let dispatch = dispatch.clone();
                let counter = counter.clone();
                // The source IP of every request on this connection, formatted once.
                let source_ip: Arc<str> = peer.ip().to_string().into();
                let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let dispatch = dispatch.clone();
                    let source_ip = source_ip.clone();
                    let id = counter.fetch_add(1, Ordering::Relaxed);
                    async move {
                        Ok::<_, std::convert::Infallible>(answer(req, &source_ip, id, dispatch).await)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), svc);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = watched.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// One request: read the body (bounded), build the Lambda request, dispatch, convert back.
async fn answer(
    req: hyper::Request<Incoming>,
    source_ip: &str,
    id: u64,
    dispatch: Dispatch,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_READ_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let (status, code, message) = if too_large {
                (
                    413,
                    "payload_too_large",
                    format!("request body larger than {MAX_READ_BODY} bytes"),
                )
            } else {
                (
                    400,
                    "bad_request",
                    "could not read the request body".to_owned(),
                )
            };
            return error_response(status, code, &message);
        }
    };
    let lambda_req = match to_lambda_request(parts, &bytes, source_ip, id, now_millis()) {
        Ok(r) => r,
        Err(msg) => return error_response(400, "bad_request", &msg),
    };
    let resp = dispatch(lambda_req).await;
    from_lambda_response(resp)
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Builds the `lambda_http::Request` the Lambda runtime would hand the handler for this request on an
/// API Gateway HTTP API (payload 2.0, stage `$default`): lower-case headers, repeated headers joined
/// with commas, cookies as one `cookie` header joined with `; `, the raw path and query string, a
/// `requestContext` with a request id, the source IP (`peer.ip()` as text, formatted once per
/// connection by the caller) and the method, and the body as text (or bytes when it is not UTF-8).
/// It is built directly with `lambda_http`'s own request extensions rather than
/// by serialising an event and parsing it back; a test checks that both give the same request.
pub fn to_lambda_request(
    mut parts: http::request::Parts,
    body: &[u8],
    source_ip: &str,
    id: u64,
    now_ms: u64,
) -> Result<lambda_http::Request, String> {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;

    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // When no header name repeats, there is no cookie and every value is text, API Gateway's
    // folding leaves the headers as they came: the map is moved, not rebuilt.
    let plain = parts.headers.len() == parts.headers.keys_len()
        && !parts.headers.contains_key(http::header::COOKIE)
        && parts.headers.values().all(|v| v.to_str().is_ok());
    let headers = if plain {
        std::mem::take(&mut parts.headers)
    } else {
        fold_headers(&parts.headers)
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    // As lambda_http: scheme from `x-forwarded-proto` (else https), host from `host` (else the
    // domain name), the path normalised by the URL parser, then the raw query string. Where
    // lambda_http would panic on a host it cannot parse, this falls back to `localhost`.
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("https");
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let uri = if is_canonical(scheme, host, path) && query_is_kept(&parts.uri) {
        // What the URL parser would give back unchanged (the common case): the scheme, the host as
        // the authority, and the request's own path and query, without formatting or parsing.
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(if scheme == "https" {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        });
        uri.authority = Some(
            host.parse::<http::uri::Authority>()
                .map_err(|e| format!("cannot build the request: {e}"))?,
        );
        uri.path_and_query = parts.uri.path_and_query().cloned();
        http::Uri::from_parts(uri).map_err(|e| format!("cannot build the request: {e}"))?
    } else {
        let mut uri = url::Url::parse(&format!("{scheme}://{host}{path}"))
            .or_else(|_| url::Url::parse(&format!("https://localhost{path}")))
            .map_err(|e| format!("cannot build the request: {e}"))?
            .to_string();
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(query);
        }
        uri.parse()
            .map_err(|e| format!("cannot build the request: {e}"))?
    };
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        match std::str::from_utf8(body) {
            Ok(s) => lambda_http::Body::Text(s.to_owned()),
            Err(_) => lambda_http::Body::Binary(body.to_vec()),
        }
    };

    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.route_key = Some("$default".to_owned());
    ctx.account_id = Some("local".to_owned());
    ctx.stage = Some("$default".to_owned());
    ctx.request_id = Some(local_request_id(now_ms, id));
    ctx.apiid = Some("local".to_owned());
    ctx.domain_name = Some("localhost".to_owned());
    ctx.domain_prefix = Some("localhost".to_owned());
    ctx.time = Some(String::new());
    ctx.time_epoch = i64::try_from(now_ms).unwrap_or(i64::MAX);
    ctx.http.method = parts.method.clone();
    ctx.http.path = Some(path.to_owned());
    ctx.http.protocol = Some(protocol_name(parts.version));
    ctx.http.source_ip = Some(source_ip.to_owned());
    ctx.http.user_agent = Some(user_agent);

    let mut req = http::Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    let query_map: lambda_http::aws_lambda_events::query_map::QueryMap = if query.is_empty() {
        Default::default()
    } else {
        query.parse().unwrap_or_default()
    };
    Ok(req
        .with_raw_http_path(path)
        .with_query_string_parameters(query_map)
        .with_request_context(RequestContext::ApiGatewayV2(ctx)))
}

/// `true` when the request target's path-and-query can be reused as it is: it has one (not `*`) and
/// its query is absent or not empty (a bare `?` is dropped, as API Gateway drops it).
fn query_is_kept(uri: &http::Uri) -> bool {
    uri.path_and_query().is_some() && uri.query().is_none_or(|q| !q.is_empty())
}

/// `format!("local-{now_ms:x}-{id:x}")` without the formatter: the local server's request id.
fn local_request_id(now_ms: u64, id: u64) -> String {
    fn push_hex(out: &mut String, v: u64) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let digits = (64 - v.leading_zeros()).div_ceil(4).max(1);
        for i in (0..digits).rev() {
            out.push(char::from(DIGITS[((v >> (4 * i)) & 0xf) as usize]));
        }
    }
    let mut out = String::with_capacity(6 + 16 + 1 + 16);
    out.push_str("local-");
    push_hex(&mut out, now_ms);
    out.push('-');
    push_hex(&mut out, id);
    out
}

/// API Gateway's header folding: repeated headers joined with commas, cookies joined with `; `
/// into one `cookie` header, values that are not text dropped.
fn fold_headers(source: &http::HeaderMap) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(source.keys_len());
    let mut cookies: Vec<&str> = Vec::new();
    for name in source.keys() {
        let mut values = source.get_all(name).iter().filter_map(|v| v.to_str().ok());
        if name == http::header::COOKIE {
            for v in values {
                cookies.extend(v.split(';').map(str::trim).filter(|c| !c.is_empty()));
            }
            continue;
        }
        let Some(first) = values.next() else {
            continue;
        };
        let value = match values.next() {
            None => http::HeaderValue::from_str(first),
            Some(second) => {
                let mut joined = format!("{first},{second}");
                for v in values {
                    joined.push(',');
                    joined.push_str(v);
                }
                http::HeaderValue::from_str(&joined)
            }
        };
        if let Ok(value) = value {
            headers.insert(name.clone(), value);
        }
    }
    if !cookies.is_empty() {
        if let Ok(v) = http::HeaderValue::from_str(&cookies.join("; ")) {
            headers.insert(http::header::COOKIE, v);
        }
    }
    headers
}

/// `true` when `scheme://host path` is already what the WHATWG URL parser (used by lambda_http)
/// serialises it to: an `http`/`https` scheme; a host of lower-case letters, digits, dots and hyphens
/// whose last label has a letter (so it is not read as an IPv4 number) or that is a dotted quad in
/// canonical form, with no empty label, no `xn--` label (IDNA would check it) and an optional port
/// that is canonical and not the scheme's default; a path of unreserved characters and slashes with
/// no `.` or `..` segment. Anything else takes the parser.
fn is_canonical(scheme: &str, host: &str, path: &str) -> bool {
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return false,
    };
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    if let Some(port) = port {
        let canonical = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && (port == "0" || !port.starts_with('0'))
            && port.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !canonical || port == default_port {
            return false;
        }
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return false;
    }
    let labels = || name.split('.');
    if labels().any(|l| l.is_empty() || l.starts_with("xn--")) {
        return false;
    }
    let last_has_letter = labels()
        .next_back()
        .is_some_and(|l| l.bytes().any(|b| b.is_ascii_lowercase()) && !l.starts_with("0x"));
    let dotted_quad = labels().count() == 4
        && labels().all(|l| {
            l.len() <= 3
                && l.bytes().all(|b| b.is_ascii_digit())
                && (l == "0" || !l.starts_with('0'))
                && l.parse::<u16>().is_ok_and(|v| v <= 255)
        });
    if !(last_has_letter || dotted_quad) {
        return false;
    }
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'))
        && !path.split('/').any(|seg| seg == "." || seg == "..")
}

/// `format!("{:?}", version)` for the versions hyper parses, without the formatter.
fn protocol_name(version: http::Version) -> String {
    match version {
        http::Version::HTTP_11 => "HTTP/1.1".to_owned(),
        http::Version::HTTP_10 => "HTTP/1.0".to_owned(),
        http::Version::HTTP_2 => "HTTP/2.0".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Converts the handler's response to the wire.
pub fn from_lambda_response(resp: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// The project's JSON error shape, for the few errors the socket layer answers itself.
fn error_response(status: u16, code: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    /// Builds the API Gateway HTTP API 2.0 event for the request and lets `lambda_http` convert it, so
    /// the handler sees exactly what it sees on Lambda (lower-case headers, repeated headers joined with
    /// commas, cookies, `requestContext` with a request id, base64 for non-UTF-8 bodies).
    pub fn to_lambda_request_via_event(
        parts: &http::request::Parts,
        body: &[u8],
        peer: SocketAddr,
        id: u64,
        now_ms: u64,
    ) -> Result<lambda_http::Request, String> {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut headers = serde_json::Map::new();
        let mut cookies = Vec::new();
        for name in parts.headers.keys() {
            let values: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if name == http::header::COOKIE {
                for v in &values {
                    cookies.extend(
                        v.split(';')
                            .map(|c| c.trim().to_owned())
                            .filter(|c| !c.is_empty()),
                    );
                }
                continue;
            }
            if !values.is_empty() {
                headers.insert(name.as_str().to_owned(), values.join(",").into());
            }
        }
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or("").to_owned();
        let method = parts.method.as_str().to_owned();
        let (body_value, is_b64) = if body.is_empty() {
            (serde_json::Value::Null, false)
        } else {
            match std::str::from_utf8(body) {
                Ok(s) => (serde_json::Value::String(s.to_owned()), false),
                Err(_) => (serde_json::Value::String(b64(body)), true),
            }
        };
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let request_id = format!("local-{:x}-{id:x}", now_ms);
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "cookies": if cookies.is_empty() { serde_json::Value::Null } else { cookies.into() },
            "headers": headers,
            "requestContext": {
                "accountId": "local",
                "apiId": "local",
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "requestId": request_id,
                "routeKey": "$default",
                "stage": "$default",
                "time": "",
                "timeEpoch": now_ms,
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": format!("{:?}", parts.version),
                    "sourceIp": peer.ip().to_string(),
                    "userAgent": user_agent.unwrap_or(""),
                }
            },
            "body": body_value,
            "isBase64Encoded": is_b64,
        });
        let text =
            serde_json::to_string(&event).map_err(|e| format!("cannot build the event: {e}"))?;
        lambda_http::request::from_str(&text).map_err(|e| format!("cannot build the request: {e}"))
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:5555".parse().unwrap()
    }

    /// The source IP as `serve` formats it for a connection from [`peer`].
    fn ip() -> String {
        peer().ip().to_string()
    }

    #[test]
    fn request_becomes_the_lambda_request_the_runtime_would_build() {
        let p = parts(
            "POST",
            "/agora/token?x=1",
            &[
                ("Authorization", "Bearer abc"),
                ("Content-Type", "application/json"),
                ("X-Multi", "a"),
                ("X-Multi", "b"),
                ("Cookie", "a=1; b=2"),
            ],
        );
        let r = to_lambda_request(p.clone(), br#"{"channel":"c"}"#, &ip(), 7, 1_000).unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri().path(), "/agora/token");
        assert_eq!(r.uri().query(), Some("x=1"));
        assert_eq!(r.headers()["authorization"], "Bearer abc");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["x-multi"], "a,b");
        assert_eq!(r.headers()["cookie"], "a=1; b=2");
        assert_eq!(r.body().as_ref(), br#"{"channel":"c"}"#);
        let ctx = r.request_context_ref().expect("request context present");
        match ctx {
            lambda_http::request::RequestContext::ApiGatewayV2(c) => {
                assert_eq!(c.request_id.as_deref(), Some("local-3e8-7"));
                assert_eq!(c.http.source_ip.as_deref(), Some("127.0.0.1"));
                assert_eq!(c.http.method, http::Method::POST);
            }
            #[allow(unreachable_patterns)]
            _ => panic!("not an HTTP API context"),
        }
    }

    #[test]
    fn local_request_id_matches_the_formatter() {
        let values = [
            0,
            1,
            9,
            10,
            15,
            16,
            255,
            256,
            0x1234_5678_9abc,
            u64::MAX - 1,
            u64::MAX,
        ];
        for now_ms in values {
            for id in values {
                assert_eq!(
                    local_request_id(now_ms, id),
                    format!("local-{now_ms:x}-{id:x}")
                );
            }
        }
    }

    #[test]
    fn protocol_name_matches_the_formatter() {
        for v in [
            http::Version::HTTP_09,
            http::Version::HTTP_10,
            http::Version::HTTP_11,
            http::Version::HTTP_2,
            http::Version::HTTP_3,
        ] {
            assert_eq!(protocol_name(v), format!("{v:?}"));
        }
    }

    /// The direct builder gives the request lambda_http builds from the equivalent event.
    #[test]
    fn direct_request_equals_the_event_round_trip() {
        let bin = [0xffu8, 0x00, 0xfe, 0x10];
        type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a [u8]);
        let cases: Vec<Case> = vec![
            (
                "POST",
                "/agora/token",
                vec![
                    ("Authorization", "Bearer abc"),
                    ("Content-Type", "application/json"),
                ],
                br#"{"channel":"c"}"#,
            ),
            (
                "POST",
                "/livekit/token?a=1&b=%20x&a=2",
                vec![
                    ("Host", "127.0.0.1:8787"),
                    ("User-Agent", "curl/8"),
                    ("X-Multi", "a"),
                    ("X-Multi", "b"),
                    ("X-Multi", "c"),
                    ("Cookie", "a=1; b=2"),
                    ("Cookie", "c=3"),
                    ("Authorization", "Bearer one"),
                    ("Authorization", "Bearer two"),
                ],
                b"{}",
            ),
            (
                "GET",
                "/stream/token",
                vec![("X-Forwarded-Proto", "http")],
                b"",
            ),
            (
                "PUT",
                "/x/../stream/token",
                vec![("Host", "Example.COM")],
                &bin,
            ),
            ("POST", "/prod/agora/token", vec![], b"  "),
            // Every header once and as text: the map is moved as it is (the user agent too).
            (
                "POST",
                "/livekit/token",
                vec![
                    ("Host", "localhost:8787"),
                    ("User-Agent", "rtc-app/2.1 (iOS)"),
                    ("Authorization", "Bearer x.y.z"),
                    ("Content-Type", "application/json; charset=utf-8"),
                    ("X-Request-Id", "r-1"),
                ],
                br#"{"room_name":"r"}"#,
            ),
            // The request's own path and query are reused: a bare `?` is dropped (as the event's
            // empty rawQueryString drops it), an absolute-form target keeps only its path and query.
            (
                "POST",
                "/livekit/token?",
                vec![("Host", "localhost:8787")],
                b"{}",
            ),
            (
                "POST",
                "/livekit/token?room=a%20b&flag&x=%2F",
                vec![("Host", "localhost:8787")],
                b"{}",
            ),
            (
                "POST",
                "http://other.example:9000/agora/token?q=1",
                vec![("Host", "localhost:8787")],
                b"{}",
            ),
            (
                "POST",
                "http://other.example:9000/agora/token",
                vec![("Host", "api.example.com")],
                b"{}",
            ),
        ];
        // Hosts and paths on both sides of `is_canonical`: each must give the parser's URI.
        let hosts = [
            "127.0.0.1:8787",
            "127.0.0.1",
            "localhost:443",
            "localhost:80",
            "localhost:8080",
            "localhost:08080",
            "localhost:65536",
            "localhost:",
            "api.example.com",
            "API.example.com",
            "a..b",
            "example.com.",
            "127.1",
            "127.000.0.1",
            "0x7f.0.0.1",
            "1.2.3.0x4",
            "256.0.0.1",
            "xn--nxasmq6b.com",
            "xn--a.com",
            "a-.-b",
            "[::1]:8787",
            "my_host",
            "abc",
            "10.0.0.255:1",
        ];
        let paths = [
            "/agora/token",
            "/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/%2e%2e/b",
            "/a b",
            "/a~b_c-d.e",
            "/%7Euser",
            "/a\\b",
            "/caf\u{e9}",
        ];
        let mut extra: Vec<(String, String, String)> = Vec::new();
        for h in hosts {
            for proto in ["https", "http"] {
                extra.push((h.to_owned(), "/agora/token".to_owned(), proto.to_owned()));
            }
        }
        for path in paths {
            extra.push((
                "localhost:8787".to_owned(),
                path.to_owned(),
                "https".to_owned(),
            ));
        }
        let mut fast = 0;
        for (host, path, proto) in &extra {
            if is_canonical(proto, host, path) {
                fast += 1;
            }
            let Ok(uri) = path.parse::<http::Uri>() else {
                continue;
            };
            let mut p = parts("POST", "/", &[("Host", host), ("X-Forwarded-Proto", proto)]);
            p.uri = uri;
            let a = to_lambda_request(p.clone(), b"{}", &ip(), 1, 1);
            // lambda_http panics on some hosts (a bad port or IPv4 number), where ours falls back.
            let b = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                to_lambda_request_via_event(&p, b"{}", peer(), 1, 1)
            }));
            match (a, b) {
                // As text: `http::Uri` equality ignores the host's case.
                (Ok(a), Ok(Ok(b))) => assert_eq!(
                    a.uri().to_string(),
                    b.uri().to_string(),
                    "{proto}://{host}{path}"
                ),
                (Ok(_), Err(_)) => assert!(!is_canonical(proto, host, path), "{host}"),
                (a, b) => panic!("{proto}://{host}{path}: {:?} vs {:?}", a.err(), b.is_err()),
            }
        }
        // Guard against a vacuous pass: both routes were taken.
        assert!(
            fast >= 10 && fast < extra.len(),
            "{fast} of {}",
            extra.len()
        );
        for (method, uri, headers, body) in cases {
            let p = parts(method, uri, &headers);
            let a = to_lambda_request(p.clone(), body, &ip(), 9, 12_345).unwrap();
            let b = to_lambda_request_via_event(&p, body, peer(), 9, 12_345).unwrap();
            assert_eq!(a.method(), b.method(), "{uri}");
            assert_eq!(a.uri(), b.uri(), "{uri}");
            assert_eq!(a.headers(), b.headers(), "{uri}");
            assert_eq!(a.body().as_ref(), b.body().as_ref(), "{uri}");
            assert_eq!(a.raw_http_path(), b.raw_http_path(), "{uri}");
            assert_eq!(
                a.query_string_parameters_ref(),
                b.query_string_parameters_ref(),
                "{uri}"
            );
            let ctx = |r: &lambda_http::Request| match r.request_context_ref() {
                Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.clone(),
                #[allow(unreachable_patterns)]
                _ => panic!("not an HTTP API context"),
            };
            assert_eq!(ctx(&a), ctx(&b), "{uri}");
            assert_eq!(
                token_service::handler::route_path(&a),
                token_service::handler::route_path(&b)
            );
        }
    }

    #[test]
    fn a_header_value_that_is_not_text_is_dropped_as_the_event_route_drops_it() {
        let mut p = parts("POST", "/agora/token", &[("X-Ok", "1")]);
        let opaque = http::HeaderValue::from_bytes(b"caf\xe9").unwrap();
        p.headers.insert(http::header::USER_AGENT, opaque);
        let a = to_lambda_request(p.clone(), b"{}", &ip(), 1, 1).unwrap();
        let b = to_lambda_request_via_event(&p, b"{}", peer(), 1, 1).unwrap();
        assert_eq!(a.headers(), b.headers());
        assert!(a.headers().get(http::header::USER_AGENT).is_none());
        assert_eq!(
            a.headers().get("x-ok").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }

    #[test]
    fn an_unparsable_host_does_not_panic() {
        let p = parts("POST", "/agora/token", &[("Host", "a b")]);
        let r = to_lambda_request(p.clone(), b"{}", &ip(), 1, 1).unwrap();
        assert_eq!(r.uri().path(), "/agora/token");
        assert_eq!(r.raw_http_path(), "/agora/token");
    }

    #[test]
    fn binary_and_empty_bodies_survive() {
        let p = parts("POST", "/stream/token", &[]);
        let bin = [0xffu8, 0x00, 0xfe, 0x10];
        let r = to_lambda_request(p.clone(), &bin, &ip(), 1, 1).unwrap();
        assert_eq!(r.body().as_ref(), &bin);
        let r = to_lambda_request(p.clone(), b"", &ip(), 1, 1).unwrap();
        assert!(r.body().is_empty());
    }

    #[test]
    fn response_is_converted_unchanged() {
        let mut resp = Response::new(Body::Text("{\"a\":1}".into()));
        *resp.status_mut() = http::StatusCode::CREATED;
        resp.headers_mut()
            .insert("cache-control", http::HeaderValue::from_static("no-store"));
        let out = from_lambda_response(resp);
        assert_eq!(out.status(), 201);
        assert_eq!(out.headers()["cache-control"], "no-store");
    }

    #[test]
    fn non_loopback_is_refused_only_with_dev_material() {
        let dev = DefaultsInUse {
            providers: vec!["agora"],
            dev_issuer: false,
            policy_defaults: true,
        };
        let issuer = DefaultsInUse {
            providers: vec![],
            dev_issuer: true,
            policy_defaults: false,
        };
        let prod = DefaultsInUse {
            providers: vec![],
            dev_issuer: false,
            policy_defaults: true,
        };
        let any: SocketAddr = "0.0.0.0:8787".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8787".parse().unwrap();
        assert!(check_bind(&any, &dev)
            .unwrap_err()
            .contains("development credentials for agora"));
        assert!(check_bind(&any, &issuer)
            .unwrap_err()
            .contains("development caller issuer"));
        assert!(check_bind(&any, &prod).is_ok());
        assert!(check_bind(&lo, &dev).is_ok());
        assert!(check_bind(&lo6, &issuer).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_over_http_and_shuts_down() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dispatch: Dispatch = Arc::new(|req: lambda_http::Request| {
            Box::pin(async move {
                let echo = format!("{} {} {}", req.method(), req.uri().path(), req.body().len());
                Response::new(Body::Text(echo))
            }) as ResponseFuture
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, dispatch, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::new();
        let r = client
            .post(format!("http://{addr}/livekit/token"))
            .body("abcd")
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "POST /livekit/token 4");
        let big = vec![b'a'; MAX_READ_BODY + 1];
        let r = client
            .post(format!("http://{addr}/x"))
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(v["error"]["code"], "payload_too_large");
        tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
    }
}
