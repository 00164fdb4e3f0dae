//! LiveKit: RoomService over Twirp (JSON over HTTP), as `livekit-server-sdk`'s RoomServiceClient
//! sends it: `POST <url>/twirp/livekit.RoomService/<Method>`, `Authorization: Bearer <JWT>` with
//! `roomAdmin` for the room (`RemoveParticipant`) or `roomList` (`ListRooms`).

use rtc_signing::livekit::{AccessToken, VideoGrants};
use serde_json::json;
use token_service::secrets::LiveKitSecret;

use super::http::{describe_failure, Http, Reply};
use super::{Outcome, Redactor};

/// Lifetime of the admin tokens (the server SDK's default, 10 minutes).
const ADMIN_TTL: u64 = 600;

/// The HTTP base of the secret's URL (`wss://` -> `https://`, `ws://` -> `http://`), no trailing `/`.
pub fn http_base(url: &str) -> String {
    let base = if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        url.to_owned()
    };
    base.trim_end_matches('/').to_owned()
}

/// An admin token: `roomAdmin` for `room`, or `roomList` when `room` is `None`.
pub fn admin_token(secret: &LiveKitSecret, room: Option<&str>, now: u64) -> Result<String, String> {
    let grants = match room {
        Some(r) => VideoGrants {
            room_admin: true,
            room: r.to_owned(),
            ..VideoGrants::default()
        },
        None => VideoGrants {
            room_list: true,
            ..VideoGrants::default()
        },
    };
    AccessToken::new(&secret.key)
        .with_grants(grants)
        .with_ttl(ADMIN_TTL)
        .to_jwt(now)
        .map_err(|e| format!("cannot sign the admin token: {e}"))
}

async fn twirp(
    http: &Http,
    base: &str,
    method: &str,
    token: &str,
    body: &serde_json::Value,
) -> Result<Reply, String> {
    let url = format!("{base}/twirp/livekit.RoomService/{method}");
    let body = body.to_string();
    http.send(|| {
        http.client()
            .post(&url)
            .header("Content-Type", "application/json;charset=UTF-8")
            .header("Authorization", format!("Bearer {token}"))
            .body(body.clone())
    })
    .await
}

fn twirp_not_found(r: &Reply) -> bool {
    r.status == 404 || r.json.get("code").and_then(|c| c.as_str()) == Some("not_found")
}

/// Removes `identity` from `room`, revoking its tokens issued before `now` (`revokeTokenTs`).
/// `Ok(true)` removed, `Ok(false)` not in the room.
async fn remove(
    http: &Http,
    base: &str,
    secret: &LiveKitSecret,
    room: &str,
    identity: &str,
    now: u64,
    redact: &mut Redactor,
) -> Result<bool, String> {
    let token = admin_token(secret, Some(room), now)?;
    redact.add(&token);
    // int64 fields are strings in proto3 JSON, as the SDK's toJson() writes them.
    let body = json!({"room": room, "identity": identity, "revokeTokenTs": now.to_string()});
    let r = twirp(http, base, "RemoveParticipant", &token, &body).await?;
    if r.ok() {
        Ok(true)
    } else if twirp_not_found(&r) {
        Ok(false)
    } else {
        Err(describe_failure(&r))
    }
}

/// The ban's effect at LiveKit.
pub async fn kick(
    http: &Http,
    secret: &LiveKitSecret,
    identity: &str,
    room: Option<&str>,
    now: u64,
    redact: &mut Redactor,
) -> Outcome {
    let base = http_base(&secret.url);
    let rooms = match room {
        Some(r) => vec![r.to_owned()],
        None => match list_rooms(http, &base, secret, now, redact).await {
            Ok(rooms) => rooms,
            Err(why) => return Outcome::Failed(format!("ListRooms: {why}")),
        },
    };
    let mut kicked = Vec::new();
    let mut failed = Vec::new();
    for r in &rooms {
        match remove(http, &base, secret, r, identity, now, redact).await {
            Ok(true) => kicked.push(r.as_str()),
            Ok(false) => {}
            Err(why) => failed.push(format!("room {r}: {why}")),
        }
    }
    if !failed.is_empty() {
        let mut detail = format!("RemoveParticipant failed: {}", failed.join("; "));
        if !kicked.is_empty() {
            detail.push_str(&format!("; removed from {}", kicked.join(", ")));
        }
        return Outcome::Failed(detail);
    }
    if kicked.is_empty() {
        let searched = match room {
            Some(r) => format!("room {r}"),
            None => format!("{} active room(s)", rooms.len()),
        };
        return Outcome::NotConnected(format!("not a participant of {searched}"));
    }
    Outcome::Kicked(format!(
        "removed from {}; its tokens issued before {now} revoked there",
        kicked.join(", ")
    ))
}

async fn list_rooms(
    http: &Http,
    base: &str,
    secret: &LiveKitSecret,
    now: u64,
    redact: &mut Redactor,
) -> Result<Vec<String>, String> {
    let token = admin_token(secret, None, now)?;
    redact.add(&token);
    let r = twirp(http, base, "ListRooms", &token, &json!({})).await?;
    if !r.ok() {
        return Err(describe_failure(&r));
    }
    let rooms = r
        .json
        .get("rooms")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|room| room.get("name").and_then(|n| n.as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_base_follows_the_sdk() {
        assert_eq!(
            http_base("wss://x.livekit.cloud"),
            "https://x.livekit.cloud"
        );
        assert_eq!(http_base("ws://127.0.0.1:7880/"), "http://127.0.0.1:7880");
        assert_eq!(http_base("https://lk.example"), "https://lk.example");
    }
}
