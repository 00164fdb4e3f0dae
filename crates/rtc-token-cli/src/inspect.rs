//! `rtc-token inspect TOKEN`: detect the kind (Agora 007/006, LiveKit, Stream, or a caller JWT: the
//! app's own user token sent to the token service), decode every field, report expiry in UTC and,
//! with a secret, the signature verdict.
//!
//! Exit 0: valid, or nothing wrong found without a secret. Exit 1: bad signature, malformed,
//! expired / not yet valid, or not matching `--channel`/`--uid`. Exit 2: usage errors (one line on
//! stderr, nothing on stdout). The JSON report always goes to stdout for exits 0 and 1.

use crate::cli_util::{
    emit, jwt_json, now_unix, pretty, time_json, usage_error, EXIT_INVALID, EXIT_OK,
};
use clap::Args;
use rtc_signing::agora::{
    privilege, service_type, AccessToken006, AccessToken2, ParsedAccessToken2, ServiceBody,
};
use rtc_signing::livekit::{self, LiveKitKey};
use rtc_signing::{stream, ErrorKind, Secret};
use serde_json::{json, Map, Value};

/// Arguments of `rtc-token inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The token (`-` reads it from standard input).
    token: String,
    /// Agora app certificate: check the signature of a 007/006 token.
    #[arg(long, value_name = "HEX32", conflicts_with = "secret")]
    certificate: Option<String>,
    /// LiveKit or Stream API secret, or a caller JWT's shared key (`AUTH_HS256_SECRET`): check the
    /// signature of a JWT.
    #[arg(long)]
    secret: Option<String>,
    /// LiveKit: the API key the token must be issued by (`iss`).
    #[arg(long)]
    api_key: Option<String>,
    /// Agora: the channel the client joins (required to verify a 006 token; compared for 007).
    #[arg(long)]
    channel: Option<String>,
    /// Agora: the uid or user account the client joins with (required to verify a 006 token).
    #[arg(long)]
    uid: Option<String>,
    /// Caller JWT: the issuer the token service expects (`AUTH_ISSUER`).
    #[arg(long)]
    issuer: Option<String>,
    /// Caller JWT: the audience the token service accepts (`AUTH_AUDIENCE`).
    #[arg(long)]
    audience: Option<String>,
    /// Evaluate expiry at this unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    at: Option<u64>,
}

/// A usage error (exit 2) or a finished report.
enum Outcome {
    Usage(String),
    Report(Report),
}

/// What `inspect` found.
#[derive(Default)]
struct Report {
    fields: Map<String, Value>,
    /// `Some(true)` valid, `Some(false)` invalid, `None` not checked.
    signature: Option<bool>,
    malformed: Option<String>,
    expired: bool,
    problems: Vec<String>,
    hints: Vec<String>,
}

impl Report {
    fn new(kind: &str) -> Self {
        Report {
            fields: object(json!({ "kind": kind })),
            ..Report::default()
        }
    }

    fn malformed(kind: &str, why: String) -> Self {
        let mut r = Report::new(kind);
        r.malformed = Some(why);
        r
    }

    /// The final JSON and exit code.
    fn finish(mut self, at: u64) -> (Value, u8) {
        let valid =
            self.malformed.is_none() && self.signature != Some(false) && self.problems.is_empty();
        let verdict = if let Some(why) = &self.malformed {
            format!("malformed: {why}")
        } else if self.signature == Some(false) {
            "invalid signature".to_string()
        } else if let Some(p) = self.problems.first() {
            p.clone()
        } else if self.signature == Some(true) {
            "valid".to_string()
        } else {
            "decoded; signature not checked (give --certificate or --secret)".to_string()
        };
        let sig = match self.signature {
            Some(true) => "valid",
            Some(false) => "invalid",
            None => "not checked",
        };
        let mut out = object(json!({
            "kind": self.fields.remove("kind"),
            "valid": valid,
            "verdict": verdict,
            "signature": sig,
        }));
        if self.malformed.is_none() {
            out.insert("expired".into(), Value::Bool(self.expired));
        }
        out.insert("checked_at".into(), time_json(at));
        out.extend(self.fields);
        out.insert("problems".into(), json!(self.problems));
        out.insert("hints".into(), json!(self.hints));
        (
            Value::Object(out),
            if valid { EXIT_OK } else { EXIT_INVALID },
        )
    }
}

/// Runs `rtc-token inspect`; returns the exit code.
pub fn run(a: InspectArgs) -> u8 {
    let token = if a.token == "-" {
        let mut s = String::new();
        if std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).is_err() {
            return usage_error("could not read the token from standard input");
        }
        s
    } else {
        a.token.clone()
    };
    let token = token.trim();
    if token.is_empty() {
        return usage_error("the token is empty");
    }
    let at = a.at.unwrap_or_else(now_unix);
    match inspect(token, &a, at) {
        Outcome::Usage(msg) => usage_error(msg),
        Outcome::Report(r) => {
            let (v, code) = r.finish(at);
            emit(&pretty(&v), code)
        }
    }
}

fn inspect(token: &str, a: &InspectArgs, at: u64) -> Outcome {
    let secret = a.certificate.as_deref().or(a.secret.as_deref());
    if token.starts_with("007") {
        agora007(token, secret, a, at)
    } else if token.starts_with("006") {
        agora006(token, secret, a, at)
    } else if token.matches('.').count() == 2 {
        jwt(token, secret, a, at)
    } else {
        let why = if token.len() > 3 && token.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
            format!(
                "unknown Agora token version {:?} (only 006 and 007 exist)",
                &token[..3]
            )
        } else {
            "not an Agora token (006/007 prefix) nor a JWT (three dot-separated parts)".to_string()
        };
        Outcome::Report(Report::malformed("unknown", why))
    }
}

// ---------------------------------------------------------------- Agora 007

fn agora007(token: &str, cert: Option<&str>, a: &InspectArgs, at: u64) -> Outcome {
    let parsed = match AccessToken2::parse(token) {
        Ok(p) => p,
        Err(e) => return malformed("agora-007", &e),
    };
    let mut r = Report::new("agora-007");
    r.fields.extend(describe_agora007(&parsed));
    if let Some(cert) = cert {
        match parsed.verify_with_certificate(cert) {
            Ok(()) => r.signature = Some(true),
            Err(e) => match e.kind() {
                ErrorKind::InvalidSignature => {
                    r.signature = Some(false);
                    r.hints.push(
                        "the signature does not match this certificate: check the certificate belongs to this app id \
                         (primary vs secondary certificate) and that the token was not altered (URL-encoding of + / =)"
                            .into(),
                    );
                }
                ErrorKind::InvalidInput {
                    field: "app_certificate",
                    ..
                } => {
                    return Outcome::Usage("--certificate must be 32 hexadecimal characters".into())
                }
                _ => r.malformed = Some(strip_malformed(&e.to_string())),
            },
        }
    }
    let t = &parsed.token;
    r.expired = parsed.is_expired(at);
    if r.expired {
        r.problems.push(format!(
            "expired at {}",
            crate::cli_util::utc(parsed.expires_at())
        ));
    }
    if u64::from(t.issued_at) > at + 60 {
        r.hints.push(
            "issued in the future: the minting server's clock is ahead (or --issued-at was set)"
                .into(),
        );
    }
    if t.expire > 86_400 {
        r.hints.push(format!(
            "expire is {} s, over Agora's 24 h maximum; 007 lifetimes are relative seconds, not unix timestamps",
            t.expire
        ));
    }
    for s in &t.services {
        for (id, secs) in &s.privileges {
            if let Some(exp) = t.privilege_expires_at(*secs) {
                if at > exp && !r.expired {
                    r.hints.push(format!(
                        "{} privilege {} expired at {} (before the token)",
                        s.body.name(),
                        privilege_name(s.service_type(), *id),
                        crate::cli_util::utc(exp)
                    ));
                }
            }
        }
        if let ServiceBody::Rtc { uid, .. } = &s.body {
            if !uid.is_empty() && uid.parse::<u32>().is_err() {
                r.hints.push(format!(
                    "uid {uid:?} is a string user account: the client must join with the same account, not an int uid"
                ));
            }
        }
    }
    if t.services
        .iter()
        .all(|s| s.service_type() != service_type::RTC)
        && t.services
            .iter()
            .any(|s| s.service_type() == service_type::RTM)
    {
        r.hints
            .push("RTM-only token: it cannot join an RTC channel".into());
    }
    if parsed.trailing_bytes > 0 {
        r.hints.push(format!(
            "{} unparsed bytes after the last service",
            parsed.trailing_bytes
        ));
    }
    // Compare with what the client joins with.
    if a.channel.is_some() || a.uid.is_some() {
        let rtc = t.services.iter().find_map(|s| match &s.body {
            ServiceBody::Rtc { channel, uid } => Some((channel, uid)),
            _ => None,
        });
        match rtc {
            None => r
                .problems
                .push("no RTC service: this token cannot join a channel".into()),
            Some((channel, uid)) => {
                if let Some(c) = &a.channel {
                    if c != channel {
                        r.problems.push(format!(
                            "channel mismatch: token is for {channel:?}, client joins {c:?}"
                        ));
                    }
                }
                if let Some(u) = &a.uid {
                    let client = uid_text(u);
                    if !uid.is_empty() && client != *uid {
                        let shown = if client.is_empty() {
                            "0".to_string()
                        } else {
                            client
                        };
                        r.problems.push(format!(
                            "uid mismatch: token is for {uid:?}, client joins with {shown:?} (only a uid-0 token accepts any uid)"
                        ));
                    }
                }
            }
        }
    }
    Outcome::Report(r)
}

/// The uid text as the builders sign it: decimal 0 -> "" (wildcard), other numbers canonical decimal,
/// anything else verbatim (a user account).
fn uid_text(u: &str) -> String {
    match u.parse::<u32>() {
        Ok(0) => String::new(),
        Ok(n) if n.to_string() == u => n.to_string(),
        _ => u.to_string(),
    }
}

fn strip_malformed(s: &str) -> String {
    s.strip_prefix("malformed token: ").unwrap_or(s).to_string()
}

/// The report on a token the signing crate could not parse.
fn malformed(kind: &str, e: &rtc_signing::Error) -> Outcome {
    Outcome::Report(Report::malformed(kind, strip_malformed(&e.to_string())))
}

/// Every field of a parsed 007 token (static: no clock), as used by `inspect` and `mint --json`.
pub fn describe_agora007(p: &ParsedAccessToken2) -> Map<String, Value> {
    let t = &p.token;
    let services: Vec<Value> = t
        .services
        .iter()
        .map(|s| {
            let mut m = object(match &s.body {
                ServiceBody::Rtc { channel, uid } if uid.is_empty() => json!({
                    "channel_name": channel,
                    "uid": uid,
                    "uid_note": "empty = uid 0: any uid may join",
                }),
                ServiceBody::Rtc { channel, uid } => json!({"channel_name": channel, "uid": uid}),
                ServiceBody::Rtm { user_id } | ServiceBody::Chat { user_id } => {
                    json!({ "user_id": user_id })
                }
                ServiceBody::Streaming { channel, account }
                | ServiceBody::Fcdn { channel, account } => {
                    json!({"channel_name": channel, "account": account})
                }
                ServiceBody::Apaas {
                    room_uuid,
                    user_uuid,
                    role,
                } => json!({"room_uuid": room_uuid, "user_uuid": user_uuid, "role": role}),
                ServiceBody::Rtm2 {
                    user_id,
                    permissions,
                } => json!({"user_id": user_id, "permissions": permissions}),
                _ => json!({}),
            });
            let privileges: Map<String, Value> = s
                .privileges
                .iter()
                .map(|(id, secs)| {
                    let expires_at = t.privilege_expires_at(*secs).map(time_json);
                    let privilege = json!({"id": id, "seconds": secs, "expires_at": expires_at});
                    (privilege_name(s.service_type(), *id), privilege)
                })
                .collect();
            m.insert("type".into(), json!(s.service_type()));
            m.insert("name".into(), json!(s.body.name()));
            m.insert("privileges".into(), Value::Object(privileges));
            Value::Object(m)
        })
        .collect();
    let mut m = object(json!({
        "version": "007",
        "app_id": t.app_id,
        "issued_at": time_json(u64::from(t.issued_at)),
        "expire_seconds": t.expire,
        "expires_at": time_json(p.expires_at()),
        "salt": t.salt,
        "services": services,
        "signature_hex": hex(&p.signature),
    }));
    if p.trailing_bytes > 0 {
        m.insert("trailing_bytes".into(), json!(p.trailing_bytes));
    }
    m
}

/// The members of a JSON object literal (`json!({...})`).
fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The name Agora's SDKs give a privilege id of a service type (`privilege_<id>` when unknown).
fn privilege_name(ty: u16, id: u16) -> String {
    use service_type as st;
    let name = match (ty, id) {
        (st::RTC, privilege::RTC_JOIN_CHANNEL) => "joinChannel",
        (st::RTC, privilege::RTC_PUBLISH_AUDIO) => "publishAudioStream",
        (st::RTC, privilege::RTC_PUBLISH_VIDEO) => "publishVideoStream",
        (st::RTC, privilege::RTC_PUBLISH_DATA) => "publishDataStream",
        (st::RTM | st::RTM2 | st::FPA, privilege::LOGIN) => "login",
        (st::STREAMING, privilege::STREAMING_PUBLISH_MIX) => "publishMixStream",
        (st::STREAMING, privilege::STREAMING_PUBLISH_RAW) => "publishRawStream",
        (st::CHAT, privilege::CHAT_USER) => "user",
        (st::CHAT, privilege::CHAT_APP) => "app",
        (st::FCDN, privilege::FCDN_PUBLISH) => "publish",
        (st::FCDN, privilege::FCDN_PLAY) => "play",
        (st::APAAS, privilege::APAAS_ROOM_USER) => "roomUser",
        (st::APAAS, privilege::APAAS_USER) => "user",
        (st::APAAS, privilege::APAAS_APP) => "app",
        _ => return format!("privilege_{id}"),
    };
    name.to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- Agora 006

fn agora006(token: &str, cert: Option<&str>, a: &InspectArgs, at: u64) -> Outcome {
    let t = match AccessToken006::parse(token) {
        Ok(t) => t,
        Err(e) => return malformed("agora-006", &e),
    };
    let mut r = Report::new("agora-006");
    let mut privs = Map::new();
    for (id, abs) in &t.privileges {
        // 006 numbers its RTC privileges as 007 does, plus RTM login.
        let name = match id {
            1000 => "rtmLogin".to_string(),
            id => privilege_name(service_type::RTC, *id),
        };
        let exp = (*abs != 0).then(|| time_json(u64::from(*abs)));
        privs.insert(name, json!({ "id": id, "expires_at": exp }));
    }
    r.fields.extend(object(json!({
        "version": "006",
        "app_id": t.app_id,
        "salt": t.salt,
        "ts": time_json(u64::from(t.ts)),
        "crc_channel_name": t.crc_channel,
        "crc_uid": t.crc_uid,
        "privileges": privs,
        "expires_at": t.expires_at().map(time_json),
        "signature_hex": hex(&t.signature),
    })));
    r.hints
        .push("006 is the legacy format: its times are absolute unix seconds; prefer 007".into());
    if let Some(c) = &a.channel {
        if crc32(c) != t.crc_channel {
            r.problems.push(format!(
                "channel mismatch: the token was not made for {c:?} (CRC-32 differs)"
            ));
        }
    }
    if let Some(cert) = cert {
        let (Some(channel), Some(uid)) = (&a.channel, &a.uid) else {
            return Outcome::Usage(
                "a 006 signature covers the channel and uid: give --channel and --uid".into(),
            );
        };
        // uid 0 is signed as "" by every builder; one old PHP builder signed "0".
        let mut tries = vec![uid_text(uid)];
        if uid == "0" {
            tries.push("0".into());
        }
        let mut verdict = None;
        for u in &tries {
            match t.verify_with_certificate(cert, channel, u) {
                Ok(()) => {
                    verdict = Some(true);
                    r.fields.insert("uid_signed_as".into(), json!(u));
                    break;
                }
                Err(e) => match e.kind() {
                    ErrorKind::InvalidSignature => verdict = Some(false),
                    ErrorKind::InvalidInput {
                        field: "app_certificate",
                        ..
                    } => {
                        return Outcome::Usage(
                            "--certificate must be 32 hexadecimal characters".into(),
                        )
                    }
                    _ => return malformed("agora-006", &e),
                },
            }
        }
        r.signature = verdict;
    }
    r.expired = t.is_expired(at);
    if r.expired {
        r.problems.push(format!(
            "expired at {}",
            crate::cli_util::utc(t.expires_at().unwrap_or_default())
        ));
    }
    Outcome::Report(r)
}

/// CRC-32 (IEEE), as 006 tokens carry for channel and uid.
fn crc32(s: &str) -> u32 {
    crc32fast::hash(s.as_bytes())
}

// ---------------------------------------------------------------- JWTs

fn jwt(token: &str, secret: Option<&str>, a: &InspectArgs, at: u64) -> Outcome {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Outcome::Report(Report::malformed(
            "jwt",
            "not three dot-separated parts".into(),
        ));
    };
    let header = match jwt_json(h, "header") {
        Ok(m) => m,
        Err(e) => return Outcome::Report(Report::malformed("jwt", e)),
    };
    let claims = match jwt_json(p, "payload") {
        Ok(m) => m,
        Err(e) => return Outcome::Report(Report::malformed("jwt", e)),
    };
    let kind = jwt_kind(&claims, &header, a.api_key.is_some());
    if kind == "caller" {
        return caller_jwt(token, header, claims, secret, a, at);
    }
    let mut r = Report::new(kind);
    r.fields
        .insert("header".into(), Value::Object(header.clone()));
    match kind {
        "livekit" => r.fields.extend(describe_livekit(&claims)),
        "stream" => r.fields.extend(describe_stream(&claims)),
        _ => {
            r.fields
                .insert("claims".into(), Value::Object(claims.clone()));
            r.malformed = Some("a JWT that is neither a LiveKit token (video/sip grant), a Stream token (user_id/server) nor a caller JWT (iss/sub)".into());
            return Outcome::Report(r);
        }
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "HS256" {
        r.problems
            .push(format!("alg {alg:?}: LiveKit and Stream accept HS256 only"));
    }
    let mut deferred_refusal = None;
    if let Some(secret) = secret {
        r.signature = Some(hmac_ok(token, secret, jsonwebtoken::Algorithm::HS256));
        if r.signature == Some(false) {
            if kind == "stream" && token.ends_with(".devtoken") {
                r.hints.push(
                    "a Stream developer token (unsigned): accepted only with auth checks disabled"
                        .into(),
                );
            } else {
                r.hints.push("the signature does not match this secret: check the API key/secret pair and project".into());
            }
        }
        let rules = provider_rules(kind, token, secret, &claims, a, at);
        let refused = rules["accepted"] == Value::Bool(false);
        let why = rules["error"].as_str().unwrap_or("").to_string();
        r.fields.insert("provider_rules".into(), rules);
        // The plain checks below cover signature, times and issuer; anything else the provider's rules
        // refuse (e.g. a claim of the wrong type) is reported after them.
        deferred_refusal = (refused && r.signature == Some(true)).then_some(why);
    }
    // Times. No leeway: what is reported is the plain comparison at `checked_at`.
    let num = |k: &str| claims.get(k);
    let exp = int_claim(&claims, "exp", &mut r);
    let nbf = int_claim(&claims, "nbf", &mut r);
    let iat = int_claim(&claims, "iat", &mut r);
    if let Some(exp) = exp {
        if at > exp {
            r.expired = true;
            r.problems
                .push(format!("expired at {}", crate::cli_util::utc(exp)));
        }
    }
    if let Some(nbf) = nbf {
        if nbf > at {
            r.problems.push(format!(
                "not valid before {} (nbf)",
                crate::cli_util::utc(nbf)
            ));
        }
    }
    match kind {
        "livekit" => {
            if exp.is_none() && num("exp").is_none() {
                r.problems
                    .push("no exp: LiveKit verifiers require one".into());
            }
            if let Some(k) = &a.api_key {
                if claims.get("iss").and_then(Value::as_str) != Some(k.as_str()) {
                    r.problems
                        .push(format!("issuer mismatch: iss is not the API key {k:?}"));
                }
            }
            let video = claims.get("video").and_then(Value::as_object);
            let joins = video
                .and_then(|v| v.get("roomJoin"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if joins {
                if claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    r.problems
                        .push("roomJoin without identity (sub): the server refuses to join".into());
                }
                if video
                    .and_then(|v| v.get("room"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    r.hints
                        .push("roomJoin without video.room: the token may join any room".into());
                }
            } else {
                r.hints
                    .push("no video.roomJoin grant: this token cannot join a room".into());
            }
        }
        _ => {
            if let Some(iat) = iat {
                if iat > at {
                    r.problems.push(format!(
                        "issued in the future ({}): Stream rejects it (\"token used before issue at\"); backdate iat or fix the clock",
                        crate::cli_util::utc(iat)
                    ));
                }
            }
            if num("exp").is_none() {
                r.hints.push("no exp: this token never expires".into());
            }
            if num("iat").is_none() && claims.contains_key("user_id") {
                r.hints.push(
                    "no iat: per-user token revocation (revoke_tokens since) cannot apply".into(),
                );
            }
        }
    }
    if let Some(why) = deferred_refusal {
        if r.problems.is_empty() {
            r.problems
                .push(format!("refused by the provider's rules: {why}"));
        }
    }
    Outcome::Report(r)
}

/// A second opinion from `rtc-signing`'s verifier, which applies the provider's own rules (LiveKit: the
/// server's 60 s leeway, issuer, claim schema; Stream: no leeway, integer times, non-empty user id).
fn provider_rules(
    kind: &str,
    token: &str,
    secret: &str,
    claims: &Map<String, Value>,
    a: &InspectArgs,
    at: u64,
) -> Value {
    let (verifier, result) = if kind == "livekit" {
        let issuer = a
            .api_key
            .clone()
            .or_else(|| {
                claims
                    .get("iss")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let verifier = format!(
            "rtc_signing::livekit::verify (leeway {} s, like the server)",
            livekit::SERVER_LEEWAY_SECS
        );
        let result = LiveKitKey::new(issuer, secret)
            .and_then(|key| livekit::verify(token, &key, at, livekit::SERVER_LEEWAY_SECS))
            .map(|_| ());
        (verifier, result)
    } else {
        let result = stream::verify(token, &Secret::new(secret), at, 0).map(|_| ());
        (
            "rtc_signing::stream::verify (no leeway)".to_string(),
            result,
        )
    };
    match result {
        Ok(()) => json!({ "verifier": verifier, "accepted": true }),
        Err(e) => json!({ "verifier": verifier, "accepted": false, "error": e.to_string() }),
    }
}

/// Stream when `user_id` or `server` (or `{}`); LiveKit when a `video`/`sip` grant (or `--api-key`
/// was given: the user says it is LiveKit); otherwise a caller JWT when it has `iss` or `sub` (an
/// app's user token: `aud`, a URL issuer, a `kid` or an asymmetric algorithm are typical, and
/// LiveKit tokens without a grant are useless), else an unknown JWT.
fn jwt_kind(
    claims: &Map<String, Value>,
    header: &Map<String, Value>,
    api_key_given: bool,
) -> &'static str {
    let has = |k: &str| claims.contains_key(k);
    let hs256 = header.get("alg").and_then(Value::as_str) == Some("HS256");
    if has("user_id") || has("server") || claims.is_empty() {
        "stream"
    } else if has("video") || has("sip") || (api_key_given && has("iss") && hs256) {
        "livekit"
    } else if has("iss") || has("sub") {
        "caller"
    } else {
        "jwt"
    }
}

fn time_field(m: &mut Map<String, Value>, claims: &Map<String, Value>, claim: &str, name: &str) {
    if let Some(v) = claims.get(claim).and_then(Value::as_u64) {
        m.insert(name.into(), time_json(v));
    }
}

/// The time of an integer claim, `null` when it is absent or not an integer.
fn time_or_null(claims: &Map<String, Value>, claim: &str) -> Value {
    claims
        .get(claim)
        .and_then(Value::as_u64)
        .map_or(Value::Null, time_json)
}

/// An integer time claim; a problem is reported when it is there but not a non-negative integer.
fn int_claim(claims: &Map<String, Value>, k: &str, r: &mut Report) -> Option<u64> {
    let v = claims.get(k)?;
    let n = v.as_u64();
    if n.is_none() {
        r.problems
            .push(format!("{k} is not a non-negative integer ({v})"));
    }
    n
}

/// A LiveKit token's claims, with times in UTC (static: no clock).
pub fn describe_livekit(claims: &Map<String, Value>) -> Map<String, Value> {
    let mut m = object(json!({
        "api_key": claims.get("iss"),
        "identity": claims.get("sub"),
        "claims": claims,
    }));
    if let Some(name) = claims.get("name") {
        m.insert("name".into(), name.clone());
    }
    if let Some(room) = claims.get("video").and_then(|v| v.get("room")) {
        m.insert("room".into(), room.clone());
    }
    time_field(&mut m, claims, "nbf", "not_before");
    time_field(&mut m, claims, "iat", "issued_at");
    time_field(&mut m, claims, "exp", "expires_at");
    m
}

/// A Stream token's claims, with times in UTC (static: no clock).
pub fn describe_stream(claims: &Map<String, Value>) -> Map<String, Value> {
    let token_type = if claims.contains_key("call_cids") {
        "video"
    } else if claims.contains_key("user_id") {
        "user"
    } else {
        "server"
    };
    let mut m = object(json!({
        "token_type": token_type,
        "expires_at": time_or_null(claims, "exp"),
        "claims": claims,
    }));
    if let Some(u) = claims.get("user_id") {
        m.insert("user_id".into(), u.clone());
    }
    time_field(&mut m, claims, "iat", "issued_at");
    time_field(&mut m, claims, "nbf", "not_before");
    m
}

// ---------------------------------------------------------------- caller JWTs

/// Issuer patterns of the caller-auth presets, for a hint on `AUTH_PROVIDER`.
const ISSUER_PRESETS: &[(&str, &str)] = &[
    (".supabase.co/auth/v1", "supabase (SUPABASE_URL)"),
    (
        "https://securetoken.google.com/",
        "firebase (FIREBASE_PROJECT_ID)",
    ),
    (
        "https://cognito-idp.",
        "cognito (COGNITO_USER_POOL_ID, COGNITO_REGION)",
    ),
    (".auth0.com/", "auth0 (AUTH0_DOMAIN)"),
    ("clerk.", "clerk (CLERK_FRONTEND_API_URL)"),
];

/// A caller JWT: the app's own user token that the token service verifies before minting. Decodes
/// issuer, audience, subject and times; checks the signature with `--secret` (or, for a development
/// token of `rtc-token dev-jwt`, with the development key), compares `--issuer` / `--audience`, and
/// with a key asks `caller_auth` (the service's own verifier, AUTH_PROVIDER=hs256) for its verdict.
fn caller_jwt(
    token: &str,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    secret: Option<&str>,
    a: &InspectArgs,
    at: u64,
) -> Outcome {
    use crate::dev_defaults::{DEV_AUDIENCE, DEV_CALLER_SECRET, DEV_ISSUER};
    let mut r = Report::new("caller");
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    let iss = text("iss");
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    };
    r.fields.extend(object(json!({
        "header": header,
        "issuer": claims.get("iss"),
        "audience": claims.get("aud"),
        "subject": claims.get("sub"),
        "expires_at": time_or_null(&claims, "exp"),
        "claims": claims,
    })));
    time_field(&mut r.fields, &claims, "iat", "issued_at");
    time_field(&mut r.fields, &claims, "nbf", "not_before");

    // Signature: HMAC with --secret, or the development key for a development token.
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let hs_alg = alg
        .parse::<jsonwebtoken::Algorithm>()
        .ok()
        .filter(|a| a.family() == jsonwebtoken::AlgorithmFamily::Hmac);
    let dev = iss == Some(DEV_ISSUER);
    let key = secret.or(dev.then_some(DEV_CALLER_SECRET));
    if dev {
        r.hints.push(format!(
            "a development caller token (rtc-token dev-jwt): only `rtc-token serve` on its development \
             defaults accepts it{}",
            if secret.is_none() { "; signature checked with the development key" } else { "" }
        ));
    }
    if alg.eq_ignore_ascii_case("none") || alg.is_empty() {
        r.problems
            .push(format!("alg {alg:?}: unsigned tokens are refused"));
    } else if let (Some(key), Some(hs)) = (key, hs_alg) {
        r.signature = Some(hmac_ok(token, key, hs));
        if r.signature == Some(false) {
            r.hints.push(
                "the signature does not match this key: check the shared secret the app signs with \
                 (AUTH_HS256_SECRET / AUTH_HS256_SECRET_ID, current and previous after a rotation)"
                    .into(),
            );
        }
    } else if hs_alg.is_none() {
        let kid = header.get("kid").and_then(Value::as_str).unwrap_or("none");
        let msg = format!(
            "signed with {alg} (kid {kid}): the service checks it against the issuer's JWKS; \
             inspect decodes it only"
        );
        if secret.is_some() {
            r.problems.push(format!(
                "--secret cannot check an {alg} token (a shared key checks HS256/384/512 only)"
            ));
        }
        r.hints.push(msg);
    }
    let mut deferred_refusal = None;
    if let (Some(key), Some(hs)) = (key, hs_alg) {
        let issuer = a
            .issuer
            .clone()
            .or_else(|| iss.map(str::to_owned))
            .unwrap_or_default();
        let audience = match (&a.audience, dev) {
            (Some(aud), _) => Some(aud.clone()),
            (None, true) => Some(DEV_AUDIENCE.to_owned()),
            (None, false) => audiences.first().cloned(),
        };
        let rules = caller_rules(token, key, hs, &issuer, audience.as_deref(), at);
        let refused = rules["accepted"] == Value::Bool(false);
        let why = rules["error"].as_str().unwrap_or("").to_string();
        r.fields.insert("service_rules".into(), rules);
        // Reported after the plain checks below, which name the cause more directly.
        deferred_refusal = (refused && r.signature == Some(true)).then_some(why);
    }

    // Issuer and audience as configured.
    if let Some(want) = &a.issuer {
        if iss != Some(want.as_str()) {
            r.problems.push(format!(
                "issuer mismatch: iss is {}, the service expects {want:?} (AUTH_ISSUER, exact)",
                iss.map_or("missing".to_owned(), |i| format!("{i:?}"))
            ));
        }
    } else if let Some(iss) = iss {
        if let Some((_, preset)) = ISSUER_PRESETS.iter().find(|(p, _)| iss.contains(p)) {
            r.hints
                .push(format!("the issuer looks like AUTH_PROVIDER={preset}"));
        }
    }
    match &a.audience {
        Some(want) if !audiences.iter().any(|x| x == want) => r.problems.push(format!(
            "audience mismatch: aud is {}, the service accepts {want:?} (AUTH_AUDIENCE)",
            if audiences.is_empty() {
                "missing".to_owned()
            } else {
                format!("{audiences:?}")
            }
        )),
        None if !audiences.is_empty() && !dev => r.hints.push(format!(
            "aud is {audiences:?}: the service must list one of them in AUTH_AUDIENCE (a token with \
             aud is refused when no audience is configured)"
        )),
        _ => {}
    }

    // Subject and times, as the service requires them (no leeway here).
    if text("sub").is_none_or(|s| s.trim().is_empty()) {
        r.problems
            .push("no subject (sub): the service refuses callers without a user id".into());
    }
    match int_claim(&claims, "exp", &mut r) {
        Some(exp) if at >= exp => {
            r.expired = true;
            r.problems
                .push(format!("expired at {}", crate::cli_util::utc(exp)));
        }
        Some(_) => {}
        None if !claims.contains_key("exp") => {
            r.problems.push("no exp: the service requires one".into())
        }
        None => {}
    }
    if let Some(nbf) = int_claim(&claims, "nbf", &mut r) {
        if nbf > at {
            r.problems.push(format!(
                "not valid before {} (nbf)",
                crate::cli_util::utc(nbf)
            ));
        }
    }
    if let Some(iat) = int_claim(&claims, "iat", &mut r) {
        if iat > at {
            r.hints.push(format!(
                "issued in the future ({}): the issuer's clock is ahead; the service allows \
                 AUTH_LEEWAY_SECONDS (30 s) of skew",
                crate::cli_util::utc(iat)
            ));
        }
    }
    // A LiveKit token without a grant looks like this too: no audience, the API key as issuer.
    let livekit_like = audiences.is_empty() && !dev && !iss.unwrap_or("").contains("://");
    if livekit_like && hs_alg == Some(jsonwebtoken::Algorithm::HS256) {
        r.hints.push(
            "read as a caller JWT (the app's user token); a LiveKit token would carry a video grant \
             (give --api-key to read it as LiveKit)"
                .into(),
        );
    }
    if let Some(why) = deferred_refusal {
        if r.problems.is_empty() {
            r.problems
                .push(format!("refused by the service's caller checks: {why}"));
        }
    }
    Outcome::Report(r)
}

/// HMAC signature check only, with the token's HS algorithm (times are judged separately).
fn hmac_ok(token: &str, secret: &str, alg: jsonwebtoken::Algorithm) -> bool {
    use jsonwebtoken::{decode, DecodingKey, Validation};
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    decode::<Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &v).is_ok()
}

/// The token service's own verdict: `caller_auth` configured as AUTH_PROVIDER=hs256 with this key,
/// issuer and audience, and its default leeway, at `at`.
fn caller_rules(
    token: &str,
    secret: &str,
    alg: jsonwebtoken::Algorithm,
    issuer: &str,
    audience: Option<&str>,
    at: u64,
) -> Value {
    let config = caller_auth::AuthConfig::hs256(issuer, audience).with_hs_algorithm(alg);
    let verifier = format!(
        "caller_auth (AUTH_PROVIDER=hs256, AUTH_ISSUER={issuer:?}, AUTH_AUDIENCE={:?}, AUTH_HS_ALGORITHM={alg:?}, leeway {} s, like the service)",
        audience.unwrap_or(""),
        config.leeway_seconds
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return json!({ "verifier": verifier, "accepted": Value::Null, "error": e.to_string() })
        }
    };
    let result = runtime.block_on(async {
        let auth = caller_auth::Authenticator::new(config, [secret])
            .await
            .map_err(|e| format!("the service would not start with this key: {e}"))?;
        auth.authenticate_token(token, at)
            .await
            .map(|caller| caller.subject)
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(subject) => json!({ "verifier": verifier, "accepted": true, "caller": subject }),
        Err(e) => json!({ "verifier": verifier, "accepted": false, "error": e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(""), 0);
        assert_eq!(crc32("123456789"), 0xCBF4_3926);
    }

    #[test]
    fn uid_text_matches_builders() {
        assert_eq!(uid_text("0"), "");
        assert_eq!(uid_text("42"), "42");
        assert_eq!(uid_text("042"), "042");
        assert_eq!(uid_text("alice"), "alice");
    }

    #[test]
    fn jwt_kinds() {
        let m = |v: Value| v.as_object().cloned().unwrap();
        let hs = m(json!({"alg":"HS256","typ":"JWT"}));
        let rs = m(json!({"alg":"RS256","kid":"k1"}));
        let kind = |claims: Value, header: &Map<String, Value>, api_key: bool| {
            jwt_kind(&m(claims), header, api_key)
        };
        assert_eq!(
            kind(json!({"iss":"k","sub":"a","video":{}}), &hs, false),
            "livekit"
        );
        assert_eq!(
            kind(json!({"iss":"k","video":{"roomJoin":true}}), &hs, false),
            "livekit"
        );
        assert_eq!(kind(json!({"iss":"k","sip":{}}), &hs, false), "livekit");
        assert_eq!(kind(json!({"user_id":"a","iat":1}), &hs, false), "stream");
        assert_eq!(kind(json!({"server":true}), &hs, false), "stream");
        assert_eq!(kind(json!({}), &hs, false), "stream");
        assert_eq!(kind(json!({"foo":1}), &hs, false), "jwt");
        // The app's own user tokens.
        let caller = json!({"iss":"https://app.example","aud":"rtc","sub":"alice","exp":2});
        assert_eq!(kind(caller.clone(), &hs, false), "caller");
        assert_eq!(kind(caller.clone(), &rs, true), "caller");
        assert_eq!(kind(json!({"iss":"K","sub":"a"}), &hs, false), "caller");
        // ... unless the user says it is LiveKit (`--api-key`).
        assert_eq!(kind(json!({"iss":"K","sub":"a"}), &hs, true), "livekit");
    }

    #[test]
    fn privilege_names() {
        assert_eq!(privilege_name(1, 1), "joinChannel");
        assert_eq!(privilege_name(2, 1), "login");
        assert_eq!(privilege_name(5, 2), "app");
        assert_eq!(privilege_name(1, 9), "privilege_9");
    }
}
