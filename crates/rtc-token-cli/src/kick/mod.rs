//! `rtc-token admin ban|unban --kick`: the ban's effect on sessions already running, at each provider.
//!
//! - LiveKit ([`livekit`]): `RemoveParticipant` from the ban's room, or from every room `ListRooms`
//!   returns, with `revokeTokenTs` = now.
//! - Stream ([`stream`]): `revoke_tokens_issued_before` = now on the user (`unban`: cleared).
//! - Agora ([`agora`]): a kicking rule for the uid, in the channel or app-wide, for the ban's
//!   duration (at most 24 h); `unban` deletes it.
//!
//! Credentials come from the functions' own secrets (`AGORA_SECRET_ID`, `LIVEKIT_SECRET_ID`,
//! `STREAM_SECRET_ID`, read from Secrets Manager with the standard AWS configuration). A room ban acts
//! on its provider only; a global ban on every provider whose secret id is set. Each provider prints
//! one JSON line `{"provider","result","detail"}`, `result` one of `kicked`, `not_connected`,
//! `cleared`, `skipped`, `failed`. No secret or token appears in a line: every credential and token
//! made here is scrubbed from the details ([`Redactor`]).

pub mod agora;
pub mod http;
pub mod livekit;
pub mod stream;

use std::time::Duration;

use clap::Args;
use serde_json::json;
use token_service::access::BanScope;
use token_service::aws::Aws;
use token_service::secrets::{AgoraSecret, LiveKitSecret, SourceError, StreamSecret};

/// The `--kick` options of `ban` and `unban`.
#[derive(Args, Debug, Default)]
pub struct KickArgs {
    /// Also act at the providers now: remove the user from running sessions (ban) or lift the
    /// provider-side revocation (unban).
    #[arg(long)]
    pub kick: bool,
    /// Secrets Manager id of the Agora secret (the agora-token function's).
    #[arg(long, env = "AGORA_SECRET_ID")]
    pub agora_secret_id: Option<String>,
    /// Secrets Manager id of the LiveKit secret (the livekit-token function's).
    #[arg(long, env = "LIVEKIT_SECRET_ID")]
    pub livekit_secret_id: Option<String>,
    /// Secrets Manager id of the Stream secret (the stream-token function's).
    #[arg(long, env = "STREAM_SECRET_ID")]
    pub stream_secret_id: Option<String>,
    /// The user's numeric Agora uid (Agora's REST API cannot target string user accounts).
    #[arg(long, requires = "kick")]
    pub agora_uid: Option<u32>,
    /// Derive the Agora uid from the subject as the policy's `agora.identity = "uid_hash"` does.
    #[arg(long, requires = "kick", conflicts_with = "agora_uid")]
    pub agora_uid_hash: bool,
    /// Timeout of each provider request in milliseconds (each call is tried at most 3 times).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    pub kick_timeout_ms: u64,
}

/// What a provider call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The user was removed / their tokens revoked / a kicking rule made.
    Kicked(String),
    /// The provider had no session of the user to end.
    NotConnected(String),
    /// `unban`: the provider-side revocation was lifted (or there was none).
    Cleared(String),
    /// Not attempted (no secret configured for a global ban, or nothing to do).
    Skipped(String),
    /// The call failed; why.
    Failed(String),
}

impl Outcome {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Outcome::Kicked(d) => ("kicked", d),
            Outcome::NotConnected(d) => ("not_connected", d),
            Outcome::Cleared(d) => ("cleared", d),
            Outcome::Skipped(d) => ("skipped", d),
            Outcome::Failed(d) => ("failed", d),
        }
    }
    /// True for [`Outcome::Failed`].
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// Strings that must not be printed (credentials, tokens made here), scrubbed from every detail.
#[derive(Default)]
pub struct Redactor(Vec<String>);

impl Redactor {
    /// Adds a sensitive string (short ones are ignored: they would scrub ordinary words).
    pub fn add(&mut self, s: &str) {
        if s.len() >= 6 && !self.0.iter().any(|x| x == s) {
            self.0.push(s.to_owned());
        }
    }
    /// `text` with every sensitive string replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        self.0
            .iter()
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
    }
}

/// One provider's result line.
pub struct Line {
    /// `agora`, `livekit` or `stream`.
    pub provider: &'static str,
    /// The outcome.
    pub outcome: Outcome,
}

impl Line {
    /// `{"provider","result","detail"}`.
    pub fn to_json(&self, redact: &Redactor) -> serde_json::Value {
        let (result, detail) = self.outcome.parts();
        json!({"provider": self.provider, "result": result, "detail": redact.scrub(detail)})
    }
}

/// The ban (or unban) being applied.
pub struct Request<'a> {
    /// The subject (LiveKit identity, Stream user id).
    pub subject: &'a str,
    /// Its scope.
    pub scope: &'a BanScope,
    /// Unix seconds the ban ends (`None` = permanent).
    pub until: Option<u64>,
    /// Now, unix seconds.
    pub now: u64,
    /// `unban` rather than `ban`.
    pub unban: bool,
}

/// Provider API bases other than LiveKit's (which is the secret's `url`).
pub struct Bases {
    /// `STREAM_API_URL` or [`stream::DEFAULT_BASE`].
    pub stream: String,
    /// `AGORA_API_URL` or [`agora::DEFAULT_BASE`].
    pub agora: String,
}

impl Bases {
    /// From `env` (`STREAM_API_URL`, `AGORA_API_URL`): https, or http to a loopback host only.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let pick = |var: &str, default: &str| -> Result<String, String> {
            match env(var).filter(|v| !v.trim().is_empty()) {
                None => Ok(default.to_owned()),
                Some(v) => token_service::access::webhook::validate_url(v.trim())
                    .map(|()| v.trim().to_owned())
                    .map_err(|e| format!("{var}: {e}")),
            }
        };
        Ok(Bases {
            stream: pick("STREAM_API_URL", stream::DEFAULT_BASE)?,
            agora: pick("AGORA_API_URL", agora::DEFAULT_BASE)?,
        })
    }
}

const PROVIDERS: [&str; 3] = ["agora", "livekit", "stream"];

async fn load<T>(
    aws: &mut Option<Aws>,
    id: &str,
    parse: fn(&str, &str) -> Result<T, SourceError>,
) -> Result<T, String> {
    let client = match aws {
        Some(client) => client,
        None => aws.insert(Aws::from_env().await),
    };
    let text = client
        .get_secret_string(id)
        .await
        .map_err(|e| e.to_string())?;
    parse(id, &text).map_err(|e| e.to_string())
}

/// Acts at every provider the request concerns; one line each, in the order agora, livekit, stream.
pub async fn run(args: &KickArgs, req: &Request<'_>, bases: &Bases) -> (Vec<Line>, Redactor) {
    let mut redact = Redactor::default();
    let mut lines = Vec::new();
    let (wanted, room): (Vec<&'static str>, _) = match req.scope {
        BanScope::Room { provider, room } => (
            PROVIDERS.into_iter().filter(|p| p == provider).collect(),
            Some(room.as_str()),
        ),
        BanScope::Global => (PROVIDERS.to_vec(), None),
    };
    let http = match http::Http::new(Duration::from_millis(args.kick_timeout_ms)) {
        Ok(h) => h,
        Err(why) => {
            let lines = wanted
                .into_iter()
                .map(|provider| Line {
                    provider,
                    outcome: Outcome::Failed(why.clone()),
                })
                .collect();
            return (lines, redact);
        }
    };
    let mut aws = None;
    for provider in wanted {
        let (id, var) = match provider {
            "agora" => (&args.agora_secret_id, "AGORA_SECRET_ID"),
            "livekit" => (&args.livekit_secret_id, "LIVEKIT_SECRET_ID"),
            _ => (&args.stream_secret_id, "STREAM_SECRET_ID"),
        };
        let Some(id) = id.as_deref().filter(|s| !s.trim().is_empty()) else {
            let outcome = if room.is_some() {
                Outcome::Failed(format!("{var} (or --{provider}-secret-id) is not set"))
            } else {
                Outcome::Skipped(format!("{var} is not set"))
            };
            lines.push(Line { provider, outcome });
            continue;
        };
        let outcome = match provider {
            "agora" => match load(&mut aws, id, AgoraSecret::parse).await {
                Err(why) => Outcome::Failed(why),
                Ok(secret) => {
                    if let Some(r) = &secret.rest {
                        redact.add(r.customer_secret.expose());
                    }
                    redact.add(secret.key.app_certificate.expose());
                    agora_action(args, req, room, &http, &bases.agora, &secret, &mut redact).await
                }
            },
            "livekit" => match load(&mut aws, id, LiveKitSecret::parse).await {
                Err(why) => Outcome::Failed(why),
                Ok(secret) => {
                    redact.add(secret.key.api_secret.expose());
                    if req.unban {
                        Outcome::Skipped(
                            "nothing to undo: LiveKit keeps no ban (a new token admits the user again)"
                                .to_owned(),
                        )
                    } else {
                        livekit::kick(&http, &secret, req.subject, room, req.now, &mut redact).await
                    }
                }
            },
            _ => match load(&mut aws, id, StreamSecret::parse).await {
                Err(why) => Outcome::Failed(why),
                Ok(secret) => {
                    redact.add(secret.key.api_secret.expose());
                    let before = (!req.unban).then_some(req.now);
                    stream::revoke(
                        &http,
                        &bases.stream,
                        &secret,
                        req.subject,
                        before,
                        &mut redact,
                    )
                    .await
                }
            },
        };
        lines.push(Line { provider, outcome });
    }
    (lines, redact)
}

async fn agora_action(
    args: &KickArgs,
    req: &Request<'_>,
    room: Option<&str>,
    http: &http::Http,
    base: &str,
    secret: &AgoraSecret,
    redact: &mut Redactor,
) -> Outcome {
    let uid =
        match (args.agora_uid, args.agora_uid_hash) {
            (Some(u), _) => u,
            (None, true) => token_service::policy::derive_uid(req.subject),
            (None, false) => return Outcome::Failed(
                "no uid: Agora's REST API takes numeric uids only (string user accounts cannot be \
                 kicked); give --agora-uid N or --agora-uid-hash"
                    .to_owned(),
            ),
        };
    if uid == 0 {
        return Outcome::Failed("uid 0 is Agora's wildcard, not a user".to_owned());
    }
    if req.unban {
        agora::unkick(http, base, secret, uid, room, redact).await
    } else {
        agora::kick(http, base, secret, uid, room, req.until, req.now, redact).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactor_scrubs_every_added_string() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        r.add("abc");
        assert_eq!(
            r.scrub("got s3cr3t-value and abc"),
            "got [redacted] and abc"
        );
    }

    #[test]
    fn bases_default_to_production_and_refuse_plain_http_off_loopback() {
        let b = Bases::from_env(|_| None).unwrap();
        assert_eq!(b.stream, "https://chat.stream-io-api.com");
        assert_eq!(b.agora, "https://api.agora.io");
        let b = Bases::from_env(|v| (v == "AGORA_API_URL").then(|| "http://127.0.0.1:9".into()))
            .unwrap();
        assert_eq!(b.agora, "http://127.0.0.1:9");
        let e = Bases::from_env(|v| (v == "STREAM_API_URL").then(|| "http://evil.example".into()))
            .err()
            .unwrap();
        assert!(e.contains("STREAM_API_URL"), "{e}");
    }
}
