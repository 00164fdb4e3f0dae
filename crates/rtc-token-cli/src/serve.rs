//! `rtc-token serve`: the local host of the three token routes.
//!
//! The SAME application the Lambda functions run ([`token_service::handle`] over plain `http`
//! requests), served by hyper for all three routes: only the socket, the request id (a
//! [`RequestInfo`] filled from the connection, as the Lambda host fills it from lambda_http's
//! context) and where secrets come from (the environment or the embedded development defaults, see
//! [`crate::serve_wiring`]) differ.
//!
//! Safety rails: while a development credential or the development caller issuer is in use, the server
//! refuses to listen on anything but a loopback address (exit 2).

use crate::dev_defaults::{self, LocalCredentials};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use token_service::{ApiError, RequestInfo, Service};

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
    // One JSON log line per request on stdout, exactly as the functions log (RUST_LOG filters).
    token_service::telemetry::init_json_logs();
    let get = |k: &str| std::env::var(k).ok();
    let creds = LocalCredentials::resolve(&get);
    let serve_until_stopped = async move {
        let (services, defaults) = crate::serve_wiring::build(&get, &creds).await?;
        check_bind(&args.addr, &defaults)?;
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let local = listener.local_addr().unwrap_or(args.addr);
        let shutdown = shutdown_signal();
        eprintln!(
            "rtc-token serve: listening on http://{local} (POST /agora/token, /livekit/token, /stream/token); {}",
            defaults.describe()
        );
        serve(listener, services, shutdown).await;
        eprintln!("rtc-token serve: stopped");
        Ok(())
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|runtime| runtime.block_on(serve_until_stopped));
    match outcome {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("rtc-token serve: {msg}");
            2
        }
    }
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
    services: Arc<[Service]>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Request ids: `local-<start ms>-<n>` (hex), unique per run.
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let counter = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        eprintln!("rtc-token serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let services = services.clone();
                let counter = counter.clone();
                let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let services = services.clone();
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let request_id = format!("local-{started_ms:x}-{n:x}");
                    async move {
                        Ok::<_, std::convert::Infallible>(answer(req, request_id, &services).await)
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

/// One request: read the body (bounded), add the request id, answer with the application.
async fn answer(
    req: hyper::Request<Incoming>,
    request_id: String,
    services: &[Service],
) -> hyper::Response<String> {
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_READ_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return ApiError::PayloadTooLarge {
                limit: MAX_READ_BODY,
            }
            .into_response()
        }
        Err(_) => {
            return ApiError::BadRequest("could not read the request body".to_owned())
                .into_response()
        }
    };
    parts.extensions.insert(RequestInfo { request_id });
    token_service::handle(services, hyper::Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn serves_the_application_over_http_and_shuts_down() {
        let get = |_: &str| None;
        let creds = LocalCredentials::resolve(&get);
        let (services, _) = crate::serve_wiring::build(&get, &creds).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, services, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::new();
        let code = |r: reqwest::Response| async move {
            let status = r.status().as_u16();
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
        };
        for (path, expected) in [
            ("/livekit/token", (401, "unauthorized")),
            ("/stream/token", (401, "unauthorized")),
            ("/nowhere", (404, "not_found")),
        ] {
            let r = client
                .post(format!("http://{addr}{path}"))
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(code(r).await, (expected.0, expected.1.to_owned()), "{path}");
        }
        let big = vec![b'a'; MAX_READ_BODY + 1];
        let r = client
            .post(format!("http://{addr}/agora/token"))
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(code(r).await, (413, "payload_too_large".to_owned()));
        tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
    }
}
