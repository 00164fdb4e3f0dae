//! The one HTTP client of `--kick`: a whole-request timeout, no proxy, no redirects, and bounded
//! retries of 429, 5xx, timeouts and connection errors (with `Retry-After`, capped, when given).

use std::time::Duration;

/// Attempts per provider call (the first one and two retries).
pub const ATTEMPTS: u32 = 3;
/// The first retry waits this long, the next twice as long.
const BACKOFF: Duration = Duration::from_millis(250);
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A provider's final answer.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
    /// The body as text (for error messages of non-JSON answers).
    pub text: String,
}

impl Reply {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The client and its retry policy.
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// A client with `timeout` per attempt (connect included).
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("rtc-token/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| "cannot build the HTTP client".to_owned())?;
        Ok(Http { client })
    }

    /// The underlying client (to build requests).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `make` builds, retrying 429, 5xx, timeouts and connection errors up to
    /// [`ATTEMPTS`] times. `Ok` is the last answer (any status); `Err` says why no answer came
    /// (never the URL's credentials or a header: reqwest's error text is not used).
    pub async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder) -> Result<Reply, String> {
        let mut last_err = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            match make().send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let bytes = resp.bytes().await.unwrap_or_default();
                    let reply = Reply {
                        status,
                        json: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                    };
                    let retryable = status == 429 || status >= 500;
                    if !retryable || attempt + 1 == ATTEMPTS {
                        return Ok(reply);
                    }
                    if let Some(wait) = retry_after {
                        tokio::time::sleep(wait).await;
                    }
                }
                Err(e) => {
                    last_err = if e.is_timeout() {
                        "timed out".to_owned()
                    } else if e.is_connect() {
                        "connection failed".to_owned()
                    } else {
                        "request failed".to_owned()
                    };
                }
            }
        }
        Err(format!("{last_err} ({ATTEMPTS} attempts)"))
    }
}

/// A provider's error message from its reply: the JSON `msg`/`message`/`code` or the text, on one
/// line, at most 200 characters.
pub fn provider_message(r: &Reply) -> String {
    let from_json = ["msg", "message", "error", "code"]
        .iter()
        .find_map(|k| match r.json.get(*k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
    let raw = from_json.unwrap_or_else(|| r.text.clone());
    let one_line: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one_line.trim().to_owned()
}

/// `why` for a failed answer: the status, its meaning, and the provider's message.
pub fn describe_failure(r: &Reply) -> String {
    let meaning = match r.status {
        401 | 403 => " (bad credentials or not allowed)",
        404 => " (not found)",
        429 => " (rate limited, after retries)",
        s if s >= 500 => " (provider error, after retries)",
        _ => "",
    };
    let msg = provider_message(r);
    if msg.is_empty() {
        format!("HTTP {}{meaning}", r.status)
    } else {
        format!("HTTP {}{meaning}: {msg}", r.status)
    }
}
