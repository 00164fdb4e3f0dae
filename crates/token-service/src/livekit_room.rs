//! LiveKit `room_config`: read as protojson, checked against the policy, written into the token.
//!
//! The body's `room_config` is a `livekit.RoomConfiguration` in protojson. LiveKit's clients write
//! proto field names (`room_config.agents[0].agent_name`); protojson also allows the lowerCamelCase
//! JSON names (`agentName`). Both are read at every level ([`RoomConfiguration`], `RoomAgentDispatch`,
//! `RoomEgress` and the egress messages under it), as are numbers given as strings and enums given
//! by name or number, as protojson allows. An unknown field, a wrong type, a field given in both
//! spellings or two members of one `oneof` is a 400 `bad_request` naming the field (its path); nothing
//! is dropped. What is read is written back as standard protojson: lowerCamelCase names, enum names,
//! default values omitted (the `roomConfig` claim LiveKit's server and SDKs read).
//!
//! The field tables below follow livekit/protocol `livekit_room.proto`, `livekit_agent_dispatch.proto`,
//! `livekit_egress.proto` and `livekit_models.proto` (snapshot d74e7cdb, 2026-08-22).
//!
//! Then [`resolve`] applies the policy's `livekit.room_config` section (see [`crate::policy`]):
//! which agents and deployments a caller may dispatch, caps on `max_participants`, `empty_timeout` and
//! `departure_timeout`, auto-egress, metadata and attribute sizes, and the agents the service itself
//! dispatches for rooms matching a pattern. [`room_name`] gives a fresh room from
//! `livekit.room_template` when the body names none.

use std::collections::BTreeMap;

use rtc_signing::livekit::{RoomAgentDispatch, RoomConfiguration};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::policy::{pattern_matches, Policy, RoomConfigPolicy};

// ------------------------------------------------------------------ schema

/// A protobuf enum whose values are numbered 0.. in this order.
#[derive(Debug)]
struct Enum(&'static [&'static str]);

/// A field's type.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Bool,
    U32,
    I32,
    F64,
    Enum(&'static Enum),
    Msg(&'static Msg),
    /// `map<string, string>`.
    Map,
}

/// One field: its proto name (the JSON name is derived), type, `repeated`, and `oneof` group.
#[derive(Debug)]
struct F {
    name: &'static str,
    ty: Ty,
    repeated: bool,
    oneof: Option<&'static str>,
}

#[derive(Debug)]
struct Msg {
    fields: &'static [F],
}

const fn f(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        repeated: false,
        oneof: None,
    }
}
const fn rep(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        repeated: true,
        oneof: None,
    }
}
const fn one(name: &'static str, ty: Ty, group: &'static str) -> F {
    F {
        name,
        ty,
        repeated: false,
        oneof: Some(group),
    }
}

static JOB_RESTART_POLICY: Enum = Enum(&["JRP_ON_FAILURE", "JRP_NEVER"]);
static AUDIO_MIXING: Enum = Enum(&[
    "DEFAULT_MIXING",
    "DUAL_CHANNEL_AGENT",
    "DUAL_CHANNEL_ALTERNATE",
]);
static ENCODING_PRESET: Enum = Enum(&[
    "H264_720P_30",
    "H264_720P_60",
    "H264_1080P_30",
    "H264_1080P_60",
    "PORTRAIT_H264_720P_30",
    "PORTRAIT_H264_720P_60",
    "PORTRAIT_H264_1080P_30",
    "PORTRAIT_H264_1080P_60",
    "PASSTHROUGH",
]);
static AUDIO_CODEC: Enum = Enum(&["DEFAULT_AC", "OPUS", "AAC", "AC_MP3"]);
static VIDEO_CODEC: Enum = Enum(&[
    "DEFAULT_VC",
    "H264_BASELINE",
    "H264_MAIN",
    "H264_HIGH",
    "VP8",
]);
static IMAGE_CODEC: Enum = Enum(&["IC_DEFAULT", "IC_JPEG"]);
static FILE_TYPE: Enum = Enum(&["DEFAULT_FILETYPE", "MP4", "OGG", "MP3"]);
static STREAM_PROTOCOL: Enum = Enum(&["DEFAULT_PROTOCOL", "RTMP", "SRT", "WEBSOCKET"]);
static SEGMENTED_PROTOCOL: Enum = Enum(&["DEFAULT_SEGMENTED_FILE_PROTOCOL", "HLS_PROTOCOL"]);
static SEGMENTED_SUFFIX: Enum = Enum(&["INDEX", "TIMESTAMP"]);
static IMAGE_SUFFIX: Enum = Enum(&[
    "IMAGE_SUFFIX_INDEX",
    "IMAGE_SUFFIX_TIMESTAMP",
    "IMAGE_SUFFIX_NONE_OVERWRITE",
]);

static PROXY_CONFIG: Msg = Msg {
    fields: &[
        f("url", Ty::Str),
        f("username", Ty::Str),
        f("password", Ty::Str),
    ],
};
static S3_UPLOAD: Msg = Msg {
    fields: &[
        f("access_key", Ty::Str),
        f("secret", Ty::Str),
        f("session_token", Ty::Str),
        f("assume_role_arn", Ty::Str),
        f("assume_role_external_id", Ty::Str),
        f("region", Ty::Str),
        f("endpoint", Ty::Str),
        f("bucket", Ty::Str),
        f("force_path_style", Ty::Bool),
        f("metadata", Ty::Map),
        f("tagging", Ty::Str),
        f("content_disposition", Ty::Str),
        f("proxy", Ty::Msg(&PROXY_CONFIG)),
    ],
};
static GCP_UPLOAD: Msg = Msg {
    fields: &[
        f("credentials", Ty::Str),
        f("bucket", Ty::Str),
        f("proxy", Ty::Msg(&PROXY_CONFIG)),
    ],
};
static AZURE_UPLOAD: Msg = Msg {
    fields: &[
        f("account_name", Ty::Str),
        f("account_key", Ty::Str),
        f("container_name", Ty::Str),
    ],
};
static ALI_OSS_UPLOAD: Msg = Msg {
    fields: &[
        f("access_key", Ty::Str),
        f("secret", Ty::Str),
        f("region", Ty::Str),
        f("endpoint", Ty::Str),
        f("bucket", Ty::Str),
    ],
};
static ENCODING_OPTIONS: Msg = Msg {
    fields: &[
        f("width", Ty::I32),
        f("height", Ty::I32),
        f("depth", Ty::I32),
        f("framerate", Ty::I32),
        f("audio_codec", Ty::Enum(&AUDIO_CODEC)),
        f("audio_bitrate", Ty::I32),
        f("audio_frequency", Ty::I32),
        f("video_codec", Ty::Enum(&VIDEO_CODEC)),
        f("video_bitrate", Ty::I32),
        f("key_frame_interval", Ty::F64),
        f("audio_quality", Ty::I32),
        f("video_quality", Ty::I32),
    ],
};
static ENCODED_FILE_OUTPUT: Msg = Msg {
    fields: &[
        f("file_type", Ty::Enum(&FILE_TYPE)),
        f("filepath", Ty::Str),
        f("disable_manifest", Ty::Bool),
        one("s3", Ty::Msg(&S3_UPLOAD), "output"),
        one("gcp", Ty::Msg(&GCP_UPLOAD), "output"),
        one("azure", Ty::Msg(&AZURE_UPLOAD), "output"),
        one("aliOSS", Ty::Msg(&ALI_OSS_UPLOAD), "output"),
    ],
};
static STREAM_OUTPUT: Msg = Msg {
    fields: &[
        f("protocol", Ty::Enum(&STREAM_PROTOCOL)),
        rep("urls", Ty::Str),
    ],
};
static SEGMENTED_FILE_OUTPUT: Msg = Msg {
    fields: &[
        f("protocol", Ty::Enum(&SEGMENTED_PROTOCOL)),
        f("filename_prefix", Ty::Str),
        f("playlist_name", Ty::Str),
        f("live_playlist_name", Ty::Str),
        f("segment_duration", Ty::U32),
        f("filename_suffix", Ty::Enum(&SEGMENTED_SUFFIX)),
        f("disable_manifest", Ty::Bool),
        one("s3", Ty::Msg(&S3_UPLOAD), "output"),
        one("gcp", Ty::Msg(&GCP_UPLOAD), "output"),
        one("azure", Ty::Msg(&AZURE_UPLOAD), "output"),
        one("aliOSS", Ty::Msg(&ALI_OSS_UPLOAD), "output"),
    ],
};
static IMAGE_OUTPUT: Msg = Msg {
    fields: &[
        f("capture_interval", Ty::U32),
        f("width", Ty::I32),
        f("height", Ty::I32),
        f("filename_prefix", Ty::Str),
        f("filename_suffix", Ty::Enum(&IMAGE_SUFFIX)),
        f("image_codec", Ty::Enum(&IMAGE_CODEC)),
        f("disable_manifest", Ty::Bool),
        one("s3", Ty::Msg(&S3_UPLOAD), "output"),
        one("gcp", Ty::Msg(&GCP_UPLOAD), "output"),
        one("azure", Ty::Msg(&AZURE_UPLOAD), "output"),
        one("aliOSS", Ty::Msg(&ALI_OSS_UPLOAD), "output"),
    ],
};
static FILTER_PARAMS: Msg = Msg {
    fields: &[
        rep("include_events", Ty::Str),
        rep("exclude_events", Ty::Str),
    ],
};
static WEBHOOK_CONFIG: Msg = Msg {
    fields: &[
        f("url", Ty::Str),
        f("signing_key", Ty::Str),
        f("filter_params", Ty::Msg(&FILTER_PARAMS)),
    ],
};
static ROOM_COMPOSITE_EGRESS: Msg = Msg {
    fields: &[
        f("room_name", Ty::Str),
        f("layout", Ty::Str),
        f("audio_only", Ty::Bool),
        f("audio_mixing", Ty::Enum(&AUDIO_MIXING)),
        f("video_only", Ty::Bool),
        f("custom_base_url", Ty::Str),
        one("file", Ty::Msg(&ENCODED_FILE_OUTPUT), "output"),
        one("stream", Ty::Msg(&STREAM_OUTPUT), "output"),
        one("segments", Ty::Msg(&SEGMENTED_FILE_OUTPUT), "output"),
        one("preset", Ty::Enum(&ENCODING_PRESET), "options"),
        one("advanced", Ty::Msg(&ENCODING_OPTIONS), "options"),
        rep("file_outputs", Ty::Msg(&ENCODED_FILE_OUTPUT)),
        rep("stream_outputs", Ty::Msg(&STREAM_OUTPUT)),
        rep("segment_outputs", Ty::Msg(&SEGMENTED_FILE_OUTPUT)),
        rep("image_outputs", Ty::Msg(&IMAGE_OUTPUT)),
        rep("webhooks", Ty::Msg(&WEBHOOK_CONFIG)),
    ],
};
static AUTO_PARTICIPANT_EGRESS: Msg = Msg {
    fields: &[
        one("preset", Ty::Enum(&ENCODING_PRESET), "options"),
        one("advanced", Ty::Msg(&ENCODING_OPTIONS), "options"),
        rep("file_outputs", Ty::Msg(&ENCODED_FILE_OUTPUT)),
        rep("segment_outputs", Ty::Msg(&SEGMENTED_FILE_OUTPUT)),
    ],
};
static AUTO_TRACK_EGRESS: Msg = Msg {
    fields: &[
        f("filepath", Ty::Str),
        f("disable_manifest", Ty::Bool),
        one("s3", Ty::Msg(&S3_UPLOAD), "output"),
        one("gcp", Ty::Msg(&GCP_UPLOAD), "output"),
        one("azure", Ty::Msg(&AZURE_UPLOAD), "output"),
        one("aliOSS", Ty::Msg(&ALI_OSS_UPLOAD), "output"),
    ],
};
static ROOM_EGRESS: Msg = Msg {
    fields: &[
        f("room", Ty::Msg(&ROOM_COMPOSITE_EGRESS)),
        f("participant", Ty::Msg(&AUTO_PARTICIPANT_EGRESS)),
        f("tracks", Ty::Msg(&AUTO_TRACK_EGRESS)),
    ],
};
static ROOM_AGENT_DISPATCH: Msg = Msg {
    fields: &[
        f("agent_name", Ty::Str),
        f("metadata", Ty::Str),
        f("restart_policy", Ty::Enum(&JOB_RESTART_POLICY)),
        f("deployment", Ty::Str),
        f("attributes", Ty::Map),
    ],
};
static ROOM_CONFIGURATION: Msg = Msg {
    fields: &[
        f("name", Ty::Str),
        f("empty_timeout", Ty::U32),
        f("departure_timeout", Ty::U32),
        f("max_participants", Ty::U32),
        f("metadata", Ty::Str),
        f("egress", Ty::Msg(&ROOM_EGRESS)),
        f("min_playout_delay", Ty::U32),
        f("max_playout_delay", Ty::U32),
        f("sync_streams", Ty::Bool),
        rep("agents", Ty::Msg(&ROOM_AGENT_DISPATCH)),
        f("tags", Ty::Map),
    ],
};

/// protoc's JSON name: `agent_name` -> `agentName` (a letter after `_` is upper-cased).
fn json_name(proto: &str) -> String {
    let mut out = String::with_capacity(proto.len());
    let mut upper = false;
    for c in proto.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------ protojson reading

/// A field path for messages, e.g. `room_config.agents[0].agent_name`, shortened if a client sends
/// an absurdly long key.
fn at(path: &str, key: &str) -> String {
    let key: String = key.chars().take(64).collect();
    format!("{path}.{key}")
}

fn bad(path: &str, what: &str) -> ApiError {
    ApiError::BadRequest(format!("{path}: {what}"))
}

/// Reads one message: every key must be a field (proto or JSON name), once. Returns the canonical
/// object (JSON names, in field order, defaults omitted).
fn read_msg(msg: &Msg, v: &Value, path: &str) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(obj) = v else {
        return Err(bad(path, "must be a JSON object"));
    };
    // Which field each key is, in one pass; unknown keys are errors.
    let mut found: Vec<Option<(&str, &Value)>> = vec![None; msg.fields.len()];
    for (key, value) in obj {
        let idx = msg
            .fields
            .iter()
            .position(|fd| fd.name == key || json_name(fd.name) == *key)
            .ok_or_else(|| bad(&at(path, key), "unknown field"))?;
        if let Some((first, _)) = found[idx] {
            return Err(bad(
                &at(path, msg.fields[idx].name),
                &format!("given twice (as {first:?} and {key:?})"),
            ));
        }
        found[idx] = Some((key.as_str(), value));
    }
    let mut out = Map::new();
    let mut oneofs: Vec<(&str, &str)> = Vec::new();
    for (fd, hit) in msg.fields.iter().zip(found) {
        let Some((_, value)) = hit else { continue };
        if value.is_null() {
            continue; // protojson: null is the default value
        }
        let fpath = at(path, fd.name);
        if let Some(group) = fd.oneof {
            if let Some((_, other)) = oneofs.iter().find(|(g, _)| *g == group) {
                return Err(bad(
                    &fpath,
                    &format!("only one of the oneof {group:?} may be set (also got {other:?})"),
                ));
            }
            oneofs.push((group, fd.name));
        }
        let canonical = if fd.repeated {
            let Value::Array(items) = value else {
                return Err(bad(&fpath, "must be a JSON array"));
            };
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let ipath = format!("{fpath}[{i}]");
                if item.is_null() {
                    return Err(bad(&ipath, "must not be null"));
                }
                list.push(read_value(fd.ty, item, &ipath)?);
            }
            (!list.is_empty()).then_some(Value::Array(list))
        } else {
            let v = read_value(fd.ty, value, &fpath)?;
            // proto3: a scalar at its default value is not written, except a oneof member (it has
            // presence) and a message (present even when empty).
            let keep = fd.oneof.is_some() || matches!(fd.ty, Ty::Msg(_)) || !is_default(fd.ty, &v);
            keep.then_some(v)
        };
        if let Some(v) = canonical {
            out.insert(json_name(fd.name), v);
        }
    }
    Ok(out)
}

fn is_default(ty: Ty, v: &Value) -> bool {
    match (ty, v) {
        (Ty::Str, Value::String(s)) => s.is_empty(),
        (Ty::Bool, Value::Bool(b)) => !b,
        (Ty::U32 | Ty::I32 | Ty::F64, Value::Number(n)) => n.as_f64() == Some(0.0),
        (Ty::Enum(e), Value::String(s)) => e.0.first() == Some(&s.as_str()),
        (Ty::Map, Value::Object(m)) => m.is_empty(),
        _ => false,
    }
}

/// An integer given as a JSON number (integral) or a decimal string, as protojson allows.
fn read_int(v: &Value, path: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(bad(
            path,
            &format!("must be an integer in {min}..={max} (a number or a decimal string)"),
        )),
    }
}

fn read_value(ty: Ty, v: &Value, path: &str) -> Result<Value, ApiError> {
    Ok(match ty {
        Ty::Str => match v {
            Value::String(s) => Value::String(s.clone()),
            _ => return Err(bad(path, "must be a string")),
        },
        Ty::Bool => match v {
            Value::Bool(b) => Value::Bool(*b),
            _ => return Err(bad(path, "must be true or false")),
        },
        Ty::U32 => Value::from(read_int(v, path, 0, i64::from(u32::MAX))?),
        Ty::I32 => Value::from(read_int(v, path, i64::from(i32::MIN), i64::from(i32::MAX))?),
        Ty::F64 => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => match s.as_str() {
                    // protojson's non-finite spellings stay strings
                    "NaN" | "Infinity" | "-Infinity" => return Ok(Value::String(s.clone())),
                    other => other.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
                },
                _ => None,
            };
            match x.and_then(serde_json::Number::from_f64) {
                Some(n) => Value::Number(n),
                None => return Err(bad(path, "must be a number")),
            }
        }
        Ty::Enum(e) => {
            let idx = match v {
                Value::String(s) => e.0.iter().position(|name| name == s),
                Value::Number(_) => read_int(v, path, 0, i64::MAX)
                    .ok()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n < e.0.len()),
                _ => None,
            };
            match idx {
                Some(i) => Value::String(e.0[i].to_owned()),
                None => return Err(bad(path, &format!("must be one of {}", e.0.join(", ")))),
            }
        }
        Ty::Map => {
            let Value::Object(m) = v else {
                return Err(bad(path, "must be an object of strings"));
            };
            let mut out = Map::new();
            for (k, val) in m {
                match val {
                    Value::String(s) => {
                        out.insert(k.clone(), Value::String(s.clone()));
                    }
                    _ => return Err(bad(&at(path, k), "must be a string")),
                }
            }
            Value::Object(out)
        }
        Ty::Msg(m) => Value::Object(read_msg(m, v, path)?),
    })
}

/// Reads a `room_config` value as protojson (see the module documentation). `Ok(None)` when it is
/// `null` or sets nothing.
pub fn parse(v: &Value) -> Result<Option<RoomConfiguration>, ApiError> {
    if v.is_null() {
        return Ok(None);
    }
    let canonical = read_msg(&ROOM_CONFIGURATION, v, "room_config")?;
    if canonical.is_empty() {
        return Ok(None);
    }
    // The canonical object has exactly the signing crate's field names and types.
    serde_json::from_value(Value::Object(canonical))
        .map(Some)
        .map_err(|e| {
            tracing::error!(error = %e, "canonical room_config does not fit RoomConfiguration");
            ApiError::Internal
        })
}

// ------------------------------------------------------------------ policy

fn not_allowed(message: String) -> ApiError {
    ApiError::forbidden("room_config_not_allowed", message)
}

fn map_bytes(m: &BTreeMap<String, String>) -> usize {
    m.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Checks a requested configuration against the policy section `p`.
fn check(p: &RoomConfigPolicy, subject: &str, rc: &RoomConfiguration) -> Result<(), ApiError> {
    for (i, a) in rc.agents.iter().enumerate() {
        if !p
            .agents
            .iter()
            .any(|pat| pattern_matches(pat, subject, &a.agent_name))
        {
            return Err(not_allowed(format!(
                "room_config.agents[{i}]: agent {:?} may not be dispatched by this caller",
                a.agent_name
            )));
        }
        if !a.deployment.is_empty()
            && !p
                .deployments
                .iter()
                .any(|pat| pattern_matches(pat, subject, &a.deployment))
        {
            return Err(not_allowed(format!(
                "room_config.agents[{i}]: deployment {:?} is not allowed",
                a.deployment
            )));
        }
        if let Some(max) = p.max_metadata_bytes {
            if a.metadata.len() > max {
                return Err(not_allowed(format!(
                    "room_config.agents[{i}].metadata is larger than {max} bytes"
                )));
            }
        }
        if let Some(max) = p.max_attributes_bytes {
            if map_bytes(&a.attributes) > max {
                return Err(not_allowed(format!(
                    "room_config.agents[{i}].attributes are larger than {max} bytes"
                )));
            }
        }
    }
    let caps = [
        ("max_participants", rc.max_participants, p.max_participants),
        ("empty_timeout", rc.empty_timeout, p.empty_timeout),
        (
            "departure_timeout",
            rc.departure_timeout,
            p.departure_timeout,
        ),
    ];
    for (name, value, cap) in caps {
        if let Some(cap) = cap {
            if value > cap {
                return Err(not_allowed(format!(
                    "room_config.{name} {value} is above the policy's cap of {cap}"
                )));
            }
        }
    }
    if rc.egress.is_some() && !p.egress {
        return Err(not_allowed(
            "room_config.egress (auto-egress) is not allowed by policy".to_owned(),
        ));
    }
    if let Some(max) = p.max_metadata_bytes {
        if rc.metadata.len() > max {
            return Err(not_allowed(format!(
                "room_config.metadata is larger than {max} bytes"
            )));
        }
    }
    if let Some(max) = p.max_attributes_bytes {
        if map_bytes(&rc.tags) > max {
            return Err(not_allowed(format!(
                "room_config.tags are larger than {max} bytes"
            )));
        }
    }
    Ok(())
}

/// The room configuration the token carries for `room`, or `None`: the body's `room_config` read as
/// protojson (400 on a malformed one) and checked against `livekit.room_config` (403
/// `room_config_not_allowed`), plus the agents the policy dispatches for this room.
pub fn resolve(
    policy: &Policy,
    subject: &str,
    room: &str,
    requested: Option<&Value>,
) -> Result<Option<RoomConfiguration>, ApiError> {
    let requested = match requested {
        Some(v) => parse(v)?,
        None => None,
    };
    let Some(p) = policy.livekit.room_config.as_ref() else {
        return match requested {
            Some(_) => Err(not_allowed(
                "room_config is not allowed by policy (no livekit.room_config section)".to_owned(),
            )),
            None => Ok(None),
        };
    };
    if let Some(rc) = &requested {
        check(p, subject, rc)?;
        if !rc.name.is_empty() && rc.name != room {
            return Err(ApiError::BadRequest(
                "room_config.name must be the room the token is for (or be left out)".to_owned(),
            ));
        }
    }
    let mut rc = requested;
    for d in p
        .dispatch
        .iter()
        .filter(|d| pattern_matches(&d.pattern, subject, room))
    {
        let cfg = rc.get_or_insert_with(RoomConfiguration::default);
        if !cfg.agents.iter().any(|a| a.agent_name == d.agent_name) {
            cfg.agents.push(RoomAgentDispatch {
                agent_name: d.agent_name.clone(),
                metadata: d.metadata.clone(),
                restart_policy: None,
                deployment: d.deployment.clone(),
                attributes: d.attributes.clone(),
            });
        }
    }
    if let (Some(cfg), Some(cap)) = (rc.as_mut(), p.max_participants) {
        // 0 is "no limit": a configuration the token carries gets the policy's limit.
        if cfg.max_participants == 0 {
            cfg.max_participants = cap;
        }
    }
    Ok(rc)
}

/// The placeholder of a fresh room's unguessable part.
pub const RANDOM: &str = "{random}";
/// The placeholder of the caller's subject.
pub const SUB: &str = "{sub}";
/// `livekit.room_template` when the policy sets none.
pub const DEFAULT_ROOM_TEMPLATE: &str = "{sub}-{random}";

/// Checks a room template: `{random}` at least once, no other `{...}` than `{sub}` and `{random}`.
pub fn validate_template(t: &str) -> Result<(), String> {
    if !t.contains(RANDOM) {
        return Err(format!(
            "policy livekit.room_template {t:?} must contain {RANDOM} (each session gets a new room)"
        ));
    }
    let rest = t.replace(RANDOM, "").replace(SUB, "");
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "policy livekit.room_template {t:?}: only {SUB} and {RANDOM} may appear in braces"
        ));
    }
    Ok(())
}

/// Expands a template with the caller's subject and a random id.
pub fn expand_template(template: &str, subject: &str, random: &str) -> String {
    // Split on `{random}` first, so a subject containing "{random}" stays literal.
    template
        .split(RANDOM)
        .map(|piece| piece.replace(SUB, subject))
        .collect::<Vec<_>>()
        .join(random)
}

/// A new unguessable id: 96 bits from the thread-local CSPRNG, as 24 lowercase hex digits.
pub fn random_id() -> String {
    let bytes: [u8; 12] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The room of the token: the body's `room_name`, or (absent or empty) a fresh room from
/// `livekit.room_template` (default [`DEFAULT_ROOM_TEMPLATE`]).
pub fn room_name(policy: &Policy, subject: &str, requested: Option<String>) -> String {
    match requested.filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => expand_template(
            policy
                .livekit
                .room_template
                .as_deref()
                .unwrap_or(DEFAULT_ROOM_TEMPLATE),
            subject,
            &random_id(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Value, ApiError> {
        Ok(serde_json::to_value(parse(&v)?.unwrap_or_default()).unwrap())
    }

    fn err(v: Value) -> String {
        let e = read(v).unwrap_err();
        assert_eq!(e.code(), "bad_request", "{e:?}");
        e.message()
    }

    /// (proto name, JSON name, value sent, value in the token) for every `RoomConfiguration` field.
    fn room_rows() -> Vec<(&'static str, &'static str, Value, Value)> {
        vec![
            ("name", "name", json!("room-1"), json!("room-1")),
            ("empty_timeout", "emptyTimeout", json!(300), json!(300)),
            ("empty_timeout", "emptyTimeout", json!("300"), json!(300)),
            (
                "departure_timeout",
                "departureTimeout",
                json!(20),
                json!(20),
            ),
            ("max_participants", "maxParticipants", json!(10), json!(10)),
            ("max_participants", "maxParticipants", json!(4e0), json!(4)),
            (
                "metadata",
                "metadata",
                json!("{\"a\":1}"),
                json!("{\"a\":1}"),
            ),
            (
                "min_playout_delay",
                "minPlayoutDelay",
                json!(100),
                json!(100),
            ),
            (
                "max_playout_delay",
                "maxPlayoutDelay",
                json!(2000),
                json!(2000),
            ),
            ("sync_streams", "syncStreams", json!(true), json!(true)),
            (
                "tags",
                "tags",
                json!({"team": "red", "x": ""}),
                json!({"team": "red", "x": ""}),
            ),
            (
                "egress",
                "egress",
                json!({"room": {"room_name": "r", "audio_only": true, "preset": "H264_1080P_30",
                    "file_outputs": [{"file_type": "MP4", "filepath": "rec/{room_name}.mp4"}],
                    "stream_outputs": [{"protocol": 1, "urls": ["rtmp://x/live"]}]},
                    "tracks": {"filepath": "t/{track_id}", "disable_manifest": true}}),
                json!({"room": {"roomName": "r", "audioOnly": true, "preset": "H264_1080P_30",
                    "fileOutputs": [{"fileType": "MP4", "filepath": "rec/{room_name}.mp4"}],
                    "streamOutputs": [{"protocol": "RTMP", "urls": ["rtmp://x/live"]}]},
                    "tracks": {"filepath": "t/{track_id}", "disableManifest": true}}),
            ),
            (
                "agents",
                "agents",
                json!([{"agent_name": "a"}, {"agentName": "b"}]),
                json!([{"agentName": "a"}, {"agentName": "b"}]),
            ),
        ]
    }

    /// The same for every `RoomAgentDispatch` field.
    fn agent_rows() -> Vec<(&'static str, &'static str, Value, Value)> {
        vec![
            (
                "agent_name",
                "agentName",
                json!("guide-bot"),
                json!("guide-bot"),
            ),
            (
                "metadata",
                "metadata",
                json!("{\"lang\":\"it\"}"),
                json!("{\"lang\":\"it\"}"),
            ),
            (
                "restart_policy",
                "restartPolicy",
                json!("JRP_NEVER"),
                json!("JRP_NEVER"),
            ),
            (
                "restart_policy",
                "restartPolicy",
                json!(1),
                json!("JRP_NEVER"),
            ),
            (
                "deployment",
                "deployment",
                json!("staging"),
                json!("staging"),
            ),
            (
                "attributes",
                "attributes",
                json!({"k": "v"}),
                json!({"k": "v"}),
            ),
        ]
    }

    #[test]
    fn every_room_configuration_field_round_trips_in_both_spellings() {
        for (proto, camel, sent, want) in room_rows() {
            for key in [proto, camel] {
                let got = read(json!({ key: sent.clone() })).unwrap();
                assert_eq!(got, json!({ camel: want.clone() }), "{key}");
            }
        }
    }

    #[test]
    fn every_agent_dispatch_field_round_trips_in_both_spellings() {
        for (proto, camel, sent, want) in agent_rows() {
            for key in [proto, camel] {
                let got = read(json!({"agents": [{ key: sent.clone() }]})).unwrap();
                assert_eq!(got, json!({"agents": [{ camel: want.clone() }]}), "{key}");
            }
        }
    }

    #[test]
    fn what_livekit_clients_send_is_read_whole() {
        // livekit-client's TokenSource.endpoint body for agentName + agentMetadata + deployment.
        let got = read(
            json!({"agents": [{"agent_name": "guide-bot", "metadata": "{\"tour\":\"rome\"}",
            "deployment": "production"}], "max_participants": 3}),
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"maxParticipants": 3, "agents": [{"agentName": "guide-bot",
                "metadata": "{\"tour\":\"rome\"}", "deployment": "production"}]})
        );
        // livekit-server-sdk (protobuf-es) writes defaults and enum names; they read the same.
        let got = read(json!({"name": "", "emptyTimeout": 0, "departureTimeout": 0, "maxParticipants": 0,
            "minPlayoutDelay": 0, "maxPlayoutDelay": 0, "syncStreams": false, "metadata": "", "tags": {},
            "agents": [{"agentName": "helper", "metadata": "m1", "restartPolicy": "JRP_ON_FAILURE",
                "deployment": "", "attributes": {}}]}))
        .unwrap();
        assert_eq!(
            got,
            json!({"agents": [{"agentName": "helper", "metadata": "m1"}]})
        );
    }

    #[test]
    fn every_field_of_every_message_reads_in_both_spellings() {
        // Walks the tables: a sample of each field's type, sent under either name, reads the same.
        fn sample(ty: Ty) -> Value {
            match ty {
                Ty::Str => json!("s"),
                Ty::Bool => json!(true),
                Ty::U32 | Ty::I32 => json!(7),
                Ty::F64 => json!(2.5),
                Ty::Enum(e) => json!(e.0[e.0.len() - 1]),
                Ty::Map => json!({"k": "v"}),
                Ty::Msg(_) => json!({}),
            }
        }
        let mut seen = 0;
        let mut stack: Vec<&'static Msg> = vec![&ROOM_CONFIGURATION];
        let mut done: Vec<*const Msg> = Vec::new();
        while let Some(m) = stack.pop() {
            if done.contains(&(m as *const Msg)) {
                continue;
            }
            done.push(m);
            for fd in m.fields {
                if let Ty::Msg(inner) = fd.ty {
                    stack.push(inner);
                }
                let v = if fd.repeated {
                    json!([sample(fd.ty)])
                } else {
                    sample(fd.ty)
                };
                let a = read_msg(m, &json!({ fd.name: v.clone() }), "t").unwrap();
                let b = read_msg(m, &json!({ json_name(fd.name): v.clone() }), "t").unwrap();
                assert_eq!(a, b, "{}", fd.name);
                assert_eq!(
                    Value::Object(a),
                    json!({ json_name(fd.name): v }),
                    "{}",
                    fd.name
                );
                seen += 1;
            }
        }
        assert_eq!((done.len(), seen), (18, 120), "messages and fields walked");
    }

    #[test]
    fn unknown_fields_and_bad_values_are_400_naming_the_field() {
        let m = err(json!({"agents": [{"agent_name": "a", "agnet_name": "b"}]}));
        assert!(
            m.contains("room_config.agents[0].agnet_name") && m.contains("unknown"),
            "{m}"
        );
        let m = err(json!({"max_participant": 3}));
        assert!(m.contains("room_config.max_participant"), "{m}");
        let m = err(
            json!({"egress": {"room": {"file_outputs": [{"s3": {"bucket": "b", "acl": "x"}}]}}}),
        );
        assert!(
            m.contains("room_config.egress.room.file_outputs[0].s3.acl"),
            "{m}"
        );
        let m = err(json!({"agents": [{"agent_name": "a", "agentName": "b"}]}));
        assert!(
            m.contains("agents[0].agent_name") && m.contains("twice"),
            "{m}"
        );
        let m = err(json!({"egress": {"room": {"preset": 1, "advanced": {"width": 640}}}}));
        assert!(m.contains("oneof"), "{m}");
        assert!(err(json!({"max_participants": -1})).contains("max_participants"));
        assert!(err(json!({"max_participants": 1.5})).contains("max_participants"));
        assert!(err(json!({"max_participants": 4294967296u64})).contains("max_participants"));
        assert!(err(json!({"empty_timeout": "soon"})).contains("empty_timeout"));
        assert!(err(json!({"sync_streams": "yes"})).contains("sync_streams"));
        assert!(err(json!({"agents": {"agent_name": "a"}})).contains("agents"));
        assert!(err(json!({"agents": [null]})).contains("agents[0]"));
        assert!(err(json!({"agents": [{"restart_policy": "SOMETIMES"}]})).contains("JRP_NEVER"));
        assert!(err(json!({"agents": [{"restart_policy": 2}]})).contains("restart_policy"));
        assert!(err(json!({"tags": {"a": 1}})).contains("room_config.tags.a"));
        assert!(err(json!("agents")).contains("JSON object"));
        assert!(err(json!([])).contains("JSON object"));
    }

    #[test]
    fn null_and_defaults_mean_nothing_was_asked() {
        assert_eq!(parse(&Value::Null).unwrap(), None);
        assert_eq!(parse(&json!({})).unwrap(), None);
        assert_eq!(
            parse(&json!({"agents": null, "egress": null, "max_participants": 0})).unwrap(),
            None
        );
        // an empty dispatch is still a dispatch (of the unnamed agent)
        assert_eq!(
            parse(&json!({"agents": [{}]}))
                .unwrap()
                .unwrap()
                .agents
                .len(),
            1
        );
        // a present, empty message is kept (protojson presence)
        assert_eq!(
            read(json!({"egress": {"tracks": {}}})).unwrap(),
            json!({"egress": {"tracks": {}}})
        );
        // doubles, and protojson's non-finite spellings
        assert_eq!(
            read(json!({"egress": {"room": {"advanced": {"key_frame_interval": "2.5", "width": "640"}}}}))
                .unwrap(),
            json!({"egress": {"room": {"advanced": {"keyFrameInterval": 2.5, "width": 640}}}})
        );
        assert_eq!(
            read(json!({"egress": {"room": {"advanced": {"keyFrameInterval": "Infinity"}}}}))
                .unwrap(),
            json!({"egress": {"room": {"advanced": {"keyFrameInterval": "Infinity"}}}})
        );
    }

    fn policy(doc: Value) -> Policy {
        Policy::from_json(&doc.to_string()).unwrap()
    }

    fn code(r: Result<Option<RoomConfiguration>, ApiError>) -> &'static str {
        r.unwrap_err().code()
    }

    #[test]
    fn no_policy_section_refuses_any_room_config() {
        let p = Policy::default();
        assert_eq!(
            code(resolve(
                &p,
                "alice",
                "r",
                Some(&json!({"agents": [{"agent_name": "a"}]}))
            )),
            "room_config_not_allowed"
        );
        assert_eq!(resolve(&p, "alice", "r", None).unwrap(), None);
        assert_eq!(resolve(&p, "alice", "r", Some(&json!({}))).unwrap(), None);
        // malformed is 400 before any policy question
        assert_eq!(
            code(resolve(&p, "alice", "r", Some(&json!({"bogus": 1})))),
            "bad_request"
        );
    }

    #[test]
    fn agents_and_deployments_allow_lists() {
        let p = policy(
            json!({"livekit": {"room_config": {"agents": ["guide-*", "{sub}-bot"],
            "deployments": ["staging"]}}}),
        );
        let ok = |rc: Value| resolve(&p, "alice", "r", Some(&rc));
        let rc = ok(json!({"agents": [{"agent_name": "guide-bot", "metadata": "m"}]}))
            .unwrap()
            .unwrap();
        assert_eq!(rc.agents[0].agent_name, "guide-bot");
        assert_eq!(rc.agents[0].metadata, "m");
        assert!(ok(json!({"agents": [{"agent_name": "alice-bot"}]})).is_ok());
        assert_eq!(
            code(ok(json!({"agents": [{"agent_name": "bob-bot"}]}))),
            "room_config_not_allowed"
        );
        assert_eq!(
            code(ok(json!({"agents": [{"agent_name": "admin-bot"}]}))),
            "room_config_not_allowed"
        );
        // the unnamed agent needs a pattern matching ""
        assert_eq!(code(ok(json!({"agents": [{}]}))), "room_config_not_allowed");
        assert!(
            ok(json!({"agents": [{"agent_name": "guide-1", "deployment": "staging"}]})).is_ok()
        );
        assert_eq!(
            code(ok(
                json!({"agents": [{"agent_name": "guide-1", "deployment": "prod"}]})
            )),
            "room_config_not_allowed"
        );
        // an empty list: no dispatch at all, no deployment
        let none = policy(json!({"livekit": {"room_config": {}}}));
        assert_eq!(
            code(resolve(
                &none,
                "a",
                "r",
                Some(&json!({"agents": [{"agent_name": "x"}]}))
            )),
            "room_config_not_allowed"
        );
        let any = policy(json!({"livekit": {"room_config": {"agents": ["*"]}}}));
        assert!(resolve(&any, "a", "r", Some(&json!({"agents": [{}]}))).is_ok());
        assert_eq!(
            code(resolve(
                &any,
                "a",
                "r",
                Some(&json!({"agents": [{"agent_name": "x", "deployment": "d"}]}))
            )),
            "room_config_not_allowed"
        );
    }

    #[test]
    fn caps_egress_and_sizes() {
        let p = policy(
            json!({"livekit": {"room_config": {"agents": ["*"], "max_participants": 10,
            "empty_timeout": 600, "departure_timeout": 30, "max_metadata_bytes": 8,
            "max_attributes_bytes": 6}}}),
        );
        let r = |rc: Value| resolve(&p, "a", "r", Some(&rc));
        assert_eq!(
            r(json!({"max_participants": 10}))
                .unwrap()
                .unwrap()
                .max_participants,
            10
        );
        assert_eq!(
            code(r(json!({"max_participants": 11}))),
            "room_config_not_allowed"
        );
        // no limit asked: the cap is the limit
        assert_eq!(
            r(json!({"agents": [{"agent_name": "x"}]}))
                .unwrap()
                .unwrap()
                .max_participants,
            10
        );
        assert!(r(json!({"empty_timeout": 600, "departure_timeout": 30})).is_ok());
        assert_eq!(
            code(r(json!({"empty_timeout": 601}))),
            "room_config_not_allowed"
        );
        assert_eq!(
            code(r(json!({"departureTimeout": "31"}))),
            "room_config_not_allowed"
        );
        assert!(r(json!({"metadata": "12345678"})).is_ok());
        assert_eq!(
            code(r(json!({"metadata": "123456789"}))),
            "room_config_not_allowed"
        );
        assert_eq!(
            code(r(
                json!({"agents": [{"agent_name": "x", "metadata": "123456789"}]})
            )),
            "room_config_not_allowed"
        );
        assert!(r(json!({"agents": [{"agent_name": "x", "attributes": {"abc": "def"}}]})).is_ok());
        assert_eq!(
            code(r(
                json!({"agents": [{"agent_name": "x", "attributes": {"abc": "defg"}}]})
            )),
            "room_config_not_allowed"
        );
        assert_eq!(
            code(r(json!({"tags": {"abcd": "efg"}}))),
            "room_config_not_allowed"
        );
        let egress = json!({"egress": {"tracks": {"filepath": "x"}}});
        assert_eq!(code(r(egress.clone())), "room_config_not_allowed");
        let p = policy(json!({"livekit": {"room_config": {"egress": true}}}));
        let rc = resolve(&p, "a", "r", Some(&egress)).unwrap().unwrap();
        assert_eq!(rc.egress, Some(json!({"tracks": {"filepath": "x"}})));
        // the room_config's name must be the token's room
        assert!(resolve(&p, "a", "r", Some(&json!({"name": "r"}))).is_ok());
        assert_eq!(
            code(resolve(&p, "a", "r", Some(&json!({"name": "other"})))),
            "bad_request"
        );
    }

    #[test]
    fn dispatch_adds_agents_whatever_the_client_asks() {
        let p = policy(
            json!({"livekit": {"room_config": {"agents": ["helper"], "dispatch": [
            {"pattern": "support-*", "agent_name": "support-agent", "metadata": "{\"tier\":1}"}]}}}),
        );
        let rc = resolve(&p, "a", "support-42", None).unwrap().unwrap();
        assert_eq!(rc.agents.len(), 1);
        assert_eq!(rc.agents[0].agent_name, "support-agent");
        assert_eq!(rc.agents[0].metadata, "{\"tier\":1}");
        let rc = resolve(
            &p,
            "a",
            "support-42",
            Some(&json!({"agents": [{"agent_name": "helper"}]})),
        )
        .unwrap()
        .unwrap();
        let names: Vec<_> = rc.agents.iter().map(|a| a.agent_name.as_str()).collect();
        assert_eq!(names, ["helper", "support-agent"]);
        assert_eq!(resolve(&p, "a", "sales-1", None).unwrap(), None);
        // dispatch does not let the client ask for the agent itself
        assert_eq!(
            code(resolve(
                &p,
                "a",
                "support-1",
                Some(&json!({"agents": [{"agent_name": "support-agent"}]}))
            )),
            "room_config_not_allowed"
        );
    }

    #[test]
    fn room_templates() {
        assert_eq!(
            expand_template("{sub}-{random}", "alice", "ab12"),
            "alice-ab12"
        );
        assert_eq!(expand_template("s-{random}-{random}", "a", "x"), "s-x-x");
        // a subject that looks like a placeholder stays literal
        assert_eq!(
            expand_template("{sub}/{random}", "{random}", "x"),
            "{random}/x"
        );
        assert!(validate_template("live-{sub}-{random}").is_ok());
        assert!(validate_template("live-{sub}")
            .unwrap_err()
            .contains("{random}"));
        assert!(validate_template("{room}-{random}").is_err());
        let a = random_id();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_id());
        let p = Policy::default();
        let r = room_name(&p, "alice", None);
        assert!(r.starts_with("alice-") && r.len() == 6 + 24, "{r}");
        assert_ne!(r, room_name(&p, "alice", Some(String::new())));
        assert_eq!(room_name(&p, "alice", Some("given".into())), "given");
        let p = policy(json!({"livekit": {"room_template": "agent-{random}"}}));
        assert!(room_name(&p, "alice", None).starts_with("agent-"));
    }

    #[test]
    fn policy_documents_are_checked_at_start() {
        let e = Policy::from_json(r#"{"livekit": {"allow_room_config": true}}"#).unwrap_err();
        assert!(
            e.contains("livekit.room_config") && e.contains("agents"),
            "{e}"
        );
        assert!(Policy::from_json(r#"{"livekit": {"allow_room_config": false}}"#).is_ok());
        assert!(Policy::from_json(r#"{"livekit": {"room_template": "x"}}"#).is_err());
        assert!(Policy::from_json(r#"{"livekit": {"room_config": {"agents": [""]}}}"#).is_err());
        assert!(Policy::from_json(r#"{"livekit": {"room_config": {"agnets": ["a"]}}}"#).is_err());
        assert!(Policy::from_json(
            r#"{"livekit": {"room_config": {"dispatch": [{"pattern": "a-*", "agent_name": ""}]}}}"#
        )
        .is_err());
    }
}
