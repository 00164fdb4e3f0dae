//! Agora: the Channel Management RESTful API's kicking rules (banning user privileges).
//! `POST <base>/dev/v1/kicking-rule` with `{"appid","cname"?,"uid","time","privileges":["join_channel"]}`
//! (<https://docs.agora.io/en/video-calling/channel-management-api/endpoint/ban-user-privileges/create-rules>),
//! HTTP Basic auth with the customer id and secret. `unban` lists the app's rules
//! (`GET ?appid=`) and deletes this uid's rules of the ban's scope (`DELETE` with `{"appid","id"}`).
//! The API takes numeric uids only: string user accounts cannot be targeted.

use base64::Engine;
use serde_json::json;
use token_service::secrets::{AgoraRestCredentials, AgoraSecret};

use super::http::{describe_failure, Http};
use super::{Outcome, Redactor};

/// The production API base.
pub const DEFAULT_BASE: &str = "https://api.agora.io";

/// Agora's longest rule: 1440 minutes (24 h, the longest token lifetime the service mints).
pub const MAX_MINUTES: u64 = 1440;

/// The rule's `time` in minutes for a ban ending at `until` (`None` = permanent): rounded up,
/// within Agora's `[1, 1440]`.
pub fn rule_minutes(until: Option<u64>, now: u64) -> u64 {
    match until {
        None => MAX_MINUTES,
        Some(u) => u.saturating_sub(now).div_ceil(60).clamp(1, MAX_MINUTES),
    }
}

/// The rule's body (the documented fields; `cname` only for a room ban, no `ip`).
pub fn rule_body(app_id: &str, room: Option<&str>, uid: u32, minutes: u64) -> serde_json::Value {
    let mut body =
        json!({"appid": app_id, "uid": uid, "time": minutes, "privileges": ["join_channel"]});
    if let Some(r) = room {
        body["cname"] = json!(r);
    }
    body
}

/// The kicking-rule resource's URL and the `Basic` authorization for it (the credential is
/// registered with `redact`), or the failure when the secret has no RESTful API credentials.
fn endpoint(
    secret: &AgoraSecret,
    base: &str,
    redact: &mut Redactor,
) -> Result<(String, String), Outcome> {
    let c: &AgoraRestCredentials = secret.rest.as_ref().ok_or_else(|| {
        Outcome::Failed(
            "the Agora secret has no \"customer_id\"/\"customer_secret\" (RESTful API credentials)"
                .to_owned(),
        )
    })?;
    let cred = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        c.customer_id,
        c.customer_secret.expose()
    ));
    redact.add(&cred);
    let url = format!("{}/dev/v1/kicking-rule", base.trim_end_matches('/'));
    Ok((url, format!("Basic {cred}")))
}

/// A JSON request to the kicking-rule resource, with the documented headers.
async fn send_json(
    http: &Http,
    method: reqwest::Method,
    url: &str,
    auth: &str,
    body: String,
) -> Result<super::http::Reply, String> {
    http.send(|| {
        http.client()
            .request(method.clone(), url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("Authorization", auth)
            .body(body.clone())
    })
    .await
}

/// Creates the kicking rule.
#[allow(clippy::too_many_arguments)]
pub async fn kick(
    http: &Http,
    base: &str,
    secret: &AgoraSecret,
    uid: u32,
    room: Option<&str>,
    until: Option<u64>,
    now: u64,
    redact: &mut Redactor,
) -> Outcome {
    let (url, auth) = match endpoint(secret, base, redact) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let minutes = rule_minutes(until, now);
    let body = rule_body(&secret.key.app_id, room, uid, minutes).to_string();
    let r = match send_json(http, reqwest::Method::POST, &url, &auth, body).await {
        Ok(r) => r,
        Err(why) => return Outcome::Failed(why),
    };
    if !r.ok() || r.json.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Outcome::Failed(describe_failure(&r));
    }
    let id = r.json.get("id").map(|v| v.to_string()).unwrap_or_default();
    let scope = room.map_or("every channel".to_owned(), |r| format!("channel {r}"));
    Outcome::Kicked(format!(
        "kicking rule {id}: uid {uid} out of {scope} and barred from joining for {minutes} min"
    ))
}

/// Deletes the uid's rules of this scope (room rules for that channel, or app-wide rules).
pub async fn unkick(
    http: &Http,
    base: &str,
    secret: &AgoraSecret,
    uid: u32,
    room: Option<&str>,
    redact: &mut Redactor,
) -> Outcome {
    let (url, auth) = match endpoint(secret, base, redact) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let app_id = secret.key.app_id.clone();
    let list_url = match url::Url::parse_with_params(&url, [("appid", app_id.as_str())]) {
        Ok(u) => u,
        Err(_) => return Outcome::Failed("AGORA_API_URL is not a URL".to_owned()),
    };
    let list = http
        .send(|| {
            http.client()
                .get(list_url.clone())
                .header("Accept", "application/json")
                .header("Authorization", auth.as_str())
        })
        .await;
    let list = match list {
        Ok(r) if r.ok() => r,
        Ok(r) => return Outcome::Failed(format!("listing rules: {}", describe_failure(&r))),
        Err(why) => return Outcome::Failed(format!("listing rules: {why}")),
    };
    let ids: Vec<u64> = list
        .json
        .get("rules")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter(|rule| rule.get("uid").and_then(|u| u.as_u64()) == Some(u64::from(uid)))
        .filter(|rule| {
            let cname = rule.get("cname").and_then(|c| c.as_str()).unwrap_or("");
            cname == room.unwrap_or("")
        })
        .filter_map(|rule| rule.get("id").and_then(|i| i.as_u64()))
        .collect();
    if ids.is_empty() {
        return Outcome::Cleared("no kicking rule for this uid and scope".to_owned());
    }
    for id in &ids {
        let body = json!({"appid": app_id, "id": id}).to_string();
        match send_json(http, reqwest::Method::DELETE, &url, &auth, body).await {
            Ok(r) if r.ok() => {}
            Ok(r) => {
                return Outcome::Failed(format!("deleting rule {id}: {}", describe_failure(&r)))
            }
            Err(why) => return Outcome::Failed(format!("deleting rule {id}: {why}")),
        }
    }
    Outcome::Cleared(format!(
        "kicking rule(s) {} deleted",
        ids.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_minutes_round_up_and_clamp() {
        assert_eq!(rule_minutes(None, 100), 1440);
        assert_eq!(rule_minutes(Some(100), 100), 1);
        assert_eq!(rule_minutes(Some(161), 100), 2);
        assert_eq!(rule_minutes(Some(100 + 7 * 86_400), 100), 1440);
    }

    #[test]
    fn rule_body_has_the_documented_fields() {
        let b = rule_body("a", Some("c"), 42, 5);
        assert_eq!(
            b,
            json!({"appid":"a","cname":"c","uid":42,"time":5,"privileges":["join_channel"]})
        );
        assert!(rule_body("a", None, 42, 5).get("cname").is_none());
    }
}
