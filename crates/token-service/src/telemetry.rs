//! Observability: one structured log line per request (through `tracing`) and one CloudWatch
//! Embedded Metric Format line per request (printed to stdout as top-level JSON, which CloudWatch
//! Logs turns into the metrics `TokensIssued`, `AuthFailed`, `PolicyDenied` and `SecretErrors`,
//! dimension `Function`, namespace `METRICS_NAMESPACE`).
//!
//! Neither ever contains a token, a secret or the caller's JWT: the log line takes only the fields
//! of [`RequestLog`], which the handler fills from verified, non-secret values.

use std::sync::Arc;

/// The metrics, in the order of the EMF directive, and the outcome each one counts.
const METRICS: [(&str, Outcome); 4] = [
    ("TokensIssued", Outcome::Issued),
    ("AuthFailed", Outcome::AuthFailed),
    ("PolicyDenied", Outcome::Denied),
    ("SecretErrors", Outcome::SecretError),
];

/// Where EMF lines go (stdout in Lambda; tests capture them).
pub type EmfSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The outcome class of a request, which decides the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A token was issued.
    Issued,
    /// The caller JWT was missing or invalid (401).
    AuthFailed,
    /// Policy or access checks refused (403, 429).
    Denied,
    /// The request itself was wrong (400, 404, 405, 413, 415).
    Rejected,
    /// A secret could not be loaded (503).
    SecretError,
    /// Any other server-side failure (500, 502, 503).
    Error,
}

impl Outcome {
    /// The log value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::AuthFailed => "auth_failed",
            Outcome::Denied => "denied",
            Outcome::Rejected => "rejected",
            Outcome::SecretError => "secret_error",
            Outcome::Error => "error",
        }
    }
}

/// The fields of one request's log line.
#[derive(Debug, Clone, Default)]
pub struct RequestLog<'a> {
    /// API Gateway / Lambda request id.
    pub request_id: &'a str,
    /// The route path.
    pub route: &'a str,
    /// HTTP status sent.
    pub status: u16,
    /// Outcome class.
    pub outcome: Option<Outcome>,
    /// The error code sent, if any.
    pub error_code: Option<&'a str>,
    /// The reason for the log only (e.g. why the JWT was refused); never contains a token.
    pub detail: Option<&'a str>,
    /// The verified caller subject.
    pub subject: Option<&'a str>,
    /// Channel / room / call ids.
    pub room: Option<&'a str>,
    /// Token role or profile.
    pub role: Option<&'a str>,
    /// Token lifetime, seconds.
    pub ttl: Option<u32>,
    /// Handler latency, microseconds.
    pub latency_us: u64,
}

/// The metrics emitter of one function.
#[derive(Clone)]
pub struct Telemetry {
    namespace: String,
    function: String,
    sink: Option<EmfSink>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("namespace", &self.namespace)
            .field("function", &self.function)
            .finish()
    }
}

/// The EMF sink that prints to stdout.
pub fn stdout_sink() -> EmfSink {
    Arc::new(|line: &str| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    })
}

/// An EMF sink that drops everything (the local server, benchmarks). Prefer [`Telemetry::silent`],
/// which skips building the line.
pub fn null_sink() -> EmfSink {
    Arc::new(|_: &str| {})
}

impl Telemetry {
    /// An emitter for `function` in `namespace`, writing EMF lines to `sink`.
    pub fn new(namespace: impl Into<String>, function: impl Into<String>, sink: EmfSink) -> Self {
        Self::build(namespace.into(), function.into(), Some(sink))
    }

    /// An emitter that writes the request log line but no EMF lines (the local server).
    pub fn silent(namespace: impl Into<String>, function: impl Into<String>) -> Self {
        Self::build(namespace.into(), function.into(), None)
    }

    fn build(namespace: String, function: String, sink: Option<EmfSink>) -> Self {
        Telemetry {
            namespace,
            function,
            sink,
        }
    }

    /// The EMF line for one request at `now_ms`.
    pub fn emf_line(&self, outcome: Outcome, now_ms: u64) -> String {
        let mut line = serde_json::json!({
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Function"]],
                    "Metrics": METRICS
                        .iter()
                        .map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"}))
                        .collect::<Vec<_>>(),
                }],
            },
            "Function": self.function,
        });
        for (name, counted) in METRICS {
            line[name] = u8::from(outcome == counted).into();
        }
        line.to_string()
    }

    fn emit(&self, outcome: Outcome, now_ms: u64) {
        if let Some(sink) = &self.sink {
            sink(&self.emf_line(outcome, now_ms));
        }
    }

    /// Writes the request's log line and metric line.
    pub fn record(&self, log: &RequestLog<'_>, now_ms: u64) {
        let outcome = log.outcome.unwrap_or(Outcome::Error);
        tracing::info!(
            target: "rtc_tokens::request",
            request_id = log.request_id,
            route = log.route,
            status = log.status,
            outcome = outcome.as_str(),
            error_code = log.error_code,
            detail = log.detail,
            subject = log.subject,
            room = log.room,
            role = log.role,
            ttl = log.ttl,
            latency_us = log.latency_us,
            "request"
        );
        self.emit(outcome, now_ms);
    }

    /// Emits one `SecretErrors` metric line outside a request (e.g. a failed load at INIT).
    pub fn secret_error(&self, now_ms: u64) {
        self.emit(Outcome::SecretError, now_ms);
    }
}

/// Installs the JSON `tracing` subscriber of the Lambda functions (filter from `RUST_LOG`, default
/// `info`; no timestamps: CloudWatch adds them). Safe to call twice.
pub fn init_json_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn emf_line_is_top_level_and_counts_the_outcome() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let l2 = lines.clone();
        let t = Telemetry::new(
            "NS",
            "agora-token",
            Arc::new(move |s: &str| l2.lock().unwrap().push(s.to_owned())),
        );
        t.record(
            &RequestLog {
                request_id: "r",
                route: "/agora/token",
                status: 403,
                outcome: Some(Outcome::Denied),
                ..Default::default()
            },
            1234,
        );
        let v: serde_json::Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1234);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "NS");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Function"
        );
        assert_eq!(v["Function"], "agora-token");
        assert_eq!(v["PolicyDenied"], 1);
        assert_eq!(v["TokensIssued"], 0);
        assert_eq!(v["AuthFailed"], 0);
        assert_eq!(v["SecretErrors"], 0);
        let names: Vec<_> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            ["TokensIssued", "AuthFailed", "PolicyDenied", "SecretErrors"]
        );
    }

    /// Names that need escaping stay valid JSON, on one line.
    #[test]
    fn emf_line_escapes_the_names() {
        let line = Telemetry::silent("Name\"space", "fn\\x").emf_line(Outcome::Issued, 7);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Name\"space"
        );
        assert_eq!(v["Function"], "fn\\x");
        assert_eq!(v["TokensIssued"], 1);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_silent_emitter_writes_no_metrics() {
        // `silent` has no sink at all; `record` must still work (the log line goes through tracing).
        let t = Telemetry::silent("NS", "f");
        t.record(&RequestLog::default(), 1);
        t.secret_error(1);
        assert!(t.sink.is_none());
    }
}
