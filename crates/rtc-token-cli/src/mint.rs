//! The mint commands: `rtc-token agora rtc|rtm|chat`, `rtc-token livekit`, `rtc-token stream`.
//!
//! Each prints the token alone on stdout (or, with `--json`, an object with the token and what it
//! grants, decoded back from the token itself). Bad input: one line on stderr, exit 2, nothing on
//! stdout. Secrets come from flags or the environment and are never echoed.

use crate::cli_util::{emit, issued_at, pretty, usage_error, EXIT_OK};
use crate::inspect;
use clap::{Args, Subcommand, ValueEnum};
use rtc_signing::agora::{self, AccessToken2, AgoraKey, MintAt, RtcRole, RtcUser};
use rtc_signing::livekit::{self, LiveKitKey, VideoGrants};
use rtc_signing::stream::{self, StreamKey};
use serde_json::{Map, Value};

/// Options shared by every mint command.
#[derive(Args, Debug)]
pub struct CommonMint {
    /// Issue time in unix seconds (default: the system clock); makes the output reproducible.
    #[arg(long, value_name = "UNIX")]
    pub issued_at: Option<u64>,
    /// Print a JSON object with the token and what it grants instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// `rtc-token agora ...`.
#[derive(Args, Debug)]
pub struct AgoraArgs {
    #[command(subcommand)]
    command: AgoraCommand,
}

#[derive(Subcommand, Debug)]
enum AgoraCommand {
    /// RTC token for a channel and a uid or user account (optionally with RTM login).
    Rtc(AgoraRtcArgs),
    /// RTM (Signaling) login token.
    Rtm(AgoraRtmArgs),
    /// Chat user or app token.
    Chat(AgoraChatArgs),
}

/// Agora credentials (flags or `AGORA_APP_ID` / `AGORA_APP_CERTIFICATE`).
#[derive(Args, Debug)]
struct AgoraCreds {
    /// App id (32 hex characters).
    #[arg(long, env = "AGORA_APP_ID", value_name = "HEX32")]
    app_id: String,
    /// App certificate (32 hex characters). Prefer the environment variable.
    #[arg(
        long,
        env = "AGORA_APP_CERTIFICATE",
        hide_env_values = true,
        value_name = "HEX32"
    )]
    app_certificate: String,
    /// Salt (default: random in 1..=99999999, as the SDKs do); makes the output reproducible.
    #[arg(long, value_name = "N")]
    salt: Option<u32>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    /// Join and publish audio, video and data.
    Publisher,
    /// Join only.
    Subscriber,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("user").required(true).args(["uid", "account"])))]
struct AgoraRtcArgs {
    /// Channel name (< 64 bytes from Agora's 89-character set).
    #[arg(long)]
    channel: String,
    /// Numeric uid, 0..=4294967295 (0 = any uid).
    #[arg(long)]
    uid: Option<u32>,
    /// String user account (1..=255 bytes).
    #[arg(long)]
    account: Option<String>,
    /// Role: publisher (join + publish audio/video/data) or subscriber (join only).
    #[arg(long, value_enum, default_value = "publisher")]
    role: RoleArg,
    /// Token lifetime in seconds (at most 86400).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    ttl: u32,
    /// Privilege lifetime in seconds (default: the token lifetime; 0 = governed by the token).
    #[arg(long, value_name = "SECS")]
    privilege_ttl: Option<u32>,
    /// Also grant RTM login for the same user (RtcTokenBuilder2.build_token_with_rtm).
    #[arg(long)]
    with_rtm: bool,
    /// Explicit joinChannel lifetime (with --audio-ttl, --video-ttl, --data-ttl: all four
    /// privileges, each with its own lifetime, as build_token_with_uid_and_privilege; no role).
    #[arg(long, value_name = "SECS", conflicts_with_all = ["role", "privilege_ttl", "with_rtm"],
          requires_all = ["audio_ttl", "video_ttl", "data_ttl"])]
    join_ttl: Option<u32>,
    /// Explicit publishAudioStream lifetime (see --join-ttl).
    #[arg(long, value_name = "SECS", requires = "join_ttl")]
    audio_ttl: Option<u32>,
    /// Explicit publishVideoStream lifetime (see --join-ttl).
    #[arg(long, value_name = "SECS", requires = "join_ttl")]
    video_ttl: Option<u32>,
    /// Explicit publishDataStream lifetime (see --join-ttl).
    #[arg(long, value_name = "SECS", requires = "join_ttl")]
    data_ttl: Option<u32>,
    #[command(flatten)]
    creds: AgoraCreds,
    #[command(flatten)]
    common: CommonMint,
}

#[derive(Args, Debug)]
struct AgoraRtmArgs {
    /// RTM user id (1..64 bytes).
    #[arg(long)]
    user_id: String,
    /// Token lifetime in seconds (at most 86400).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    ttl: u32,
    #[command(flatten)]
    creds: AgoraCreds,
    #[command(flatten)]
    common: CommonMint,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user_id", "app"])))]
struct AgoraChatArgs {
    /// Chat user id (user token).
    #[arg(long)]
    user_id: Option<String>,
    /// App token (for the Chat REST API) instead of a user token.
    #[arg(long)]
    app: bool,
    /// Token lifetime in seconds (at most 86400).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    ttl: u32,
    #[command(flatten)]
    creds: AgoraCreds,
    #[command(flatten)]
    common: CommonMint,
}

/// Runs `rtc-token agora ...`; returns the exit code.
pub fn agora(a: AgoraArgs) -> u8 {
    match agora_output(a) {
        Ok(out) => emit(&out, EXIT_OK),
        Err(msg) => usage_error(msg),
    }
}

/// One Agora builder call, with everything but the key and the time bound.
type AgoraBuild = Box<dyn Fn(&AgoraKey, MintAt) -> rtc_signing::Result<String>>;

fn agora_output(a: AgoraArgs) -> Result<String, String> {
    let (creds, common, build): (AgoraCreds, CommonMint, AgoraBuild) = match a.command {
        AgoraCommand::Rtc(r) => {
            let user = match (r.uid, r.account) {
                (Some(uid), None) => RtcUser::Uid(uid),
                (None, Some(account)) => RtcUser::Account(account),
                _ => return Err("give exactly one of --uid and --account".into()),
            };
            let role = match r.role {
                RoleArg::Publisher => RtcRole::Publisher,
                RoleArg::Subscriber => RtcRole::Subscriber,
            };
            let pttl = r.privilege_ttl.unwrap_or(r.ttl);
            let explicit = match (r.join_ttl, r.audio_ttl, r.video_ttl, r.data_ttl) {
                (Some(join), Some(audio), Some(video), Some(data)) => Some(agora::RtcPrivileges {
                    join,
                    audio,
                    video,
                    data,
                }),
                (None, None, None, None) => None,
                _ => {
                    return Err(
                        "give all four of --join-ttl, --audio-ttl, --video-ttl, --data-ttl".into(),
                    )
                }
            };
            let f = move |k: &AgoraKey, at: MintAt| {
                if let Some(p) = explicit {
                    agora::rtc_token_with_privileges(k, &r.channel, &user, r.ttl, p, at)
                } else if r.with_rtm {
                    agora::rtc_rtm_token(k, &r.channel, &user, role, r.ttl, pttl, at)
                } else {
                    agora::rtc_token(k, &r.channel, &user, role, r.ttl, pttl, at)
                }
            };
            (r.creds, r.common, Box::new(f))
        }
        AgoraCommand::Rtm(r) => {
            let f = move |k: &AgoraKey, at: MintAt| agora::rtm_token(k, &r.user_id, r.ttl, at);
            (r.creds, r.common, Box::new(f))
        }
        AgoraCommand::Chat(r) => {
            let f = move |k: &AgoraKey, at: MintAt| match &r.user_id {
                Some(u) => agora::chat_user_token(k, u, r.ttl, at),
                None => agora::chat_app_token(k, r.ttl, at),
            };
            (r.creds, r.common, Box::new(f))
        }
    };
    let key = AgoraKey::new(creds.app_id, creds.app_certificate).map_err(|e| e.to_string())?;
    let issued = issued_at(common.issued_at);
    let issued_at = u32::try_from(issued)
        .map_err(|_| "--issued-at must fit in 32 bits (Agora's u32)".to_string())?;
    let salt = creds.salt.unwrap_or_else(random_salt);
    let token = build(&key, MintAt { issued_at, salt }).map_err(|e| e.to_string())?;
    if !common.json {
        return Ok(token);
    }
    let parsed = AccessToken2::parse(&token)
        .map_err(|e| format!("internal error: minted token does not parse: {e}"))?;
    let mut obj = Map::new();
    obj.insert("token".into(), Value::String(token));
    obj.extend(inspect::describe_agora007(&parsed));
    Ok(pretty(&Value::Object(obj)))
}

/// A salt as the SDKs draw it: uniform in 1..=99_999_999.
fn random_salt() -> u32 {
    use rand::Rng;
    rand::rng().random_range(1..=99_999_999)
}

/// `rtc-token livekit ...`.
#[derive(Args, Debug)]
pub struct LiveKitArgs {
    /// API key (the JWT issuer).
    #[arg(long, env = "LIVEKIT_API_KEY")]
    api_key: String,
    /// API secret. Prefer the environment variable.
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// Participant identity (the JWT subject).
    #[arg(long)]
    identity: String,
    /// Room to join.
    #[arg(long)]
    room: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Participant metadata (free text, usually JSON).
    #[arg(long, value_name = "TEXT")]
    metadata: Option<String>,
    /// Participant attribute `key=value` (repeatable).
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    attributes: Vec<String>,
    /// Allow publishing (LiveKit's default when unset).
    #[arg(long, conflicts_with = "no_publish")]
    can_publish: bool,
    /// Forbid publishing tracks.
    #[arg(long)]
    no_publish: bool,
    /// Sources the participant may publish: microphone, camera, screen_share, screen_share_audio.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        conflicts_with = "no_publish",
        value_parser = ["microphone", "camera", "screen_share", "screen_share_audio"]
    )]
    sources: Vec<String>,
    /// Allow publishing data messages.
    #[arg(long)]
    can_publish_data: bool,
    /// Forbid subscribing to other participants' tracks.
    #[arg(long)]
    no_subscribe: bool,
    /// Hide the participant from others.
    #[arg(long)]
    hidden: bool,
    /// Grant room administration (roomAdmin).
    #[arg(long)]
    admin: bool,
    /// Grant room creation (roomCreate).
    #[arg(long)]
    create: bool,
    /// Token lifetime in seconds (LiveKit's default is 6 h).
    #[arg(long, default_value_t = 21_600, value_name = "SECS")]
    ttl: u64,
    #[command(flatten)]
    common: CommonMint,
}

/// Parses `key=value` attributes (keys unique and non-empty).
fn parse_attributes(
    items: &[String],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut out = std::collections::BTreeMap::new();
    for item in items {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--attribute {item:?} is not KEY=VALUE"))?;
        if k.is_empty() {
            return Err("--attribute needs a non-empty key".into());
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("--attribute key {k:?} given twice"));
        }
    }
    Ok(out)
}

/// Runs `rtc-token livekit ...`; returns the exit code.
pub fn livekit(a: LiveKitArgs) -> u8 {
    match livekit_output(a) {
        Ok(out) => emit(&out, EXIT_OK),
        Err(msg) => usage_error(msg),
    }
}

fn livekit_output(a: LiveKitArgs) -> Result<String, String> {
    let attributes = parse_attributes(&a.attributes)?;
    let now = issued_at(a.common.issued_at);
    let token = livekit_token(&a, attributes, now)?;
    if !a.common.json {
        return Ok(token);
    }
    let claims = jwt_claims(&token)?;
    let mut obj = Map::new();
    obj.insert("token".into(), Value::String(token));
    obj.extend(inspect::describe_livekit(&claims));
    Ok(pretty(&Value::Object(obj)))
}

/// `rtc-token stream ...`.
#[derive(Args, Debug)]
pub struct StreamArgs {
    /// API key (not part of the token; shown in `--json` for the client).
    #[arg(long, env = "STREAM_API_KEY")]
    api_key: String,
    /// API secret. Prefer the environment variable.
    #[arg(long, env = "STREAM_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// The user id the token is for.
    #[arg(long)]
    user_id: String,
    /// Token lifetime in seconds (`exp` = issue time + ttl).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    ttl: u64,
    /// Video: a call the token is limited to, `type:id` (repeatable). Makes a Video call token.
    #[arg(long = "call-cid", value_name = "TYPE:ID")]
    call_cids: Vec<String>,
    /// Video: the user's call role (e.g. `admin`, `user`). Makes a Video call token.
    #[arg(long)]
    role: Option<String>,
    #[command(flatten)]
    common: CommonMint,
}

/// Runs `rtc-token stream ...`; returns the exit code.
pub fn stream(a: StreamArgs) -> u8 {
    match stream_output(a) {
        Ok(out) => emit(&out, EXIT_OK),
        Err(msg) => usage_error(msg),
    }
}

fn stream_output(a: StreamArgs) -> Result<String, String> {
    let now = issued_at(a.common.issued_at);
    let token = stream_token(&a, now)?;
    if !a.common.json {
        return Ok(token);
    }
    let claims = jwt_claims(&token)?;
    let mut obj = Map::new();
    obj.insert("token".into(), Value::String(token));
    obj.insert("api_key".into(), Value::String(a.api_key.clone()));
    obj.extend(inspect::describe_stream(&claims));
    Ok(pretty(&Value::Object(obj)))
}

/// The claims of a JWT we just minted (decoded without verification: we signed it).
fn jwt_claims(token: &str) -> Result<Map<String, Value>, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("internal error: minted token is not a JWT")?;
    crate::cli_util::jwt_json(payload, "minted token payload")
        .map_err(|e| format!("internal error: {e}"))
}

/// Builds the LiveKit token: a `roomJoin` grant for `--room` plus the flags given.
fn livekit_token(
    a: &LiveKitArgs,
    attributes: std::collections::BTreeMap<String, String>,
    now: u64,
) -> Result<String, String> {
    let key =
        LiveKitKey::new(a.api_key.clone(), a.api_secret.clone()).map_err(|e| e.to_string())?;
    let publish = match (a.can_publish, a.no_publish) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    };
    let grants = VideoGrants {
        room_join: true,
        room: a.room.clone(),
        can_publish: publish,
        can_subscribe: a.no_subscribe.then_some(false),
        can_publish_data: a.can_publish_data.then_some(true),
        can_publish_sources: a.sources.clone(),
        hidden: a.hidden,
        room_admin: a.admin,
        room_create: a.create,
        ..VideoGrants::default()
    };
    let mut token = livekit::AccessToken::new(&key)
        .with_identity(a.identity.clone())
        .with_ttl(a.ttl)
        .with_grants(grants);
    if let Some(name) = &a.name {
        token = token.with_name(name.clone());
    }
    if let Some(metadata) = &a.metadata {
        token = token.with_metadata(metadata.clone());
    }
    if !attributes.is_empty() {
        token = token.with_attributes(attributes);
    }
    token.to_jwt(now).map_err(|e| e.to_string())
}

/// Builds the Stream token: a Video call token with `--call-cid`/`--role`, else a Chat user token.
fn stream_token(a: &StreamArgs, now: u64) -> Result<String, String> {
    let key = StreamKey::new(a.api_key.clone(), a.api_secret.clone()).map_err(|e| e.to_string())?;
    if a.ttl == 0 {
        return Err("invalid ttl: must be greater than 0".into());
    }
    let exp = now
        .checked_add(a.ttl)
        .ok_or_else(|| "invalid ttl: --issued-at + --ttl overflows".to_string())?;
    let result = if a.call_cids.is_empty() && a.role.is_none() {
        stream::user_token(&key, &a.user_id, now, Some(exp))
    } else {
        let cids: Vec<&str> = a.call_cids.iter().map(String::as_str).collect();
        stream::video_token(&key, &a.user_id, &cids, a.role.as_deref(), now, Some(exp))
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_parse_and_reject() {
        let ok = parse_attributes(&["a=1".into(), "b=x=y".into(), "c=".into()]).unwrap();
        assert_eq!(ok["b"], "x=y");
        assert_eq!(ok["c"], "");
        assert!(parse_attributes(&["novalue".into()]).is_err());
        assert!(parse_attributes(&["=v".into()]).is_err());
        assert!(parse_attributes(&["a=1".into(), "a=2".into()]).is_err());
    }

    #[test]
    fn random_salt_in_sdk_range() {
        for _ in 0..1000 {
            let s = random_salt();
            assert!((1..=99_999_999).contains(&s));
        }
    }
}
