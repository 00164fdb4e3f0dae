//! Stream: the partial user update `stream-chat`'s `revokeUserToken` sends:
//! `PATCH <base>/users?api_key=<key>` with `{"users":[{"id":..,"set":{"revoke_tokens_issued_before":..}}]}`,
//! `Authorization: <server token>` and `stream-auth-type: jwt`. `unban` sets the field to `null`.

use serde_json::json;
use token_service::secrets::StreamSecret;

use super::http::{describe_failure, Http};
use super::{Outcome, Redactor};

/// The production API base (the SDK's default).
pub const DEFAULT_BASE: &str = "https://chat.stream-io-api.com";

/// `YYYY-MM-DDTHH:MM:SS.000Z` of unix seconds `t` (JavaScript's `Date.toISOString()`).
pub fn iso8601(t: u64) -> String {
    let utc = crate::cli_util::utc(t);
    format!("{}.000Z", utc.trim_end_matches('Z'))
}

/// Revokes (`before = Some(now)`) or clears (`None`) the user's token revocation.
pub async fn revoke(
    http: &Http,
    base: &str,
    secret: &StreamSecret,
    user_id: &str,
    before: Option<u64>,
    redact: &mut Redactor,
) -> Outcome {
    let token = match rtc_signing::stream::server_token(&secret.key) {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(format!("cannot sign the server token: {e}")),
    };
    redact.add(&token);
    let value = before.map(iso8601);
    let body = json!({"users": [{"id": user_id, "set": {"revoke_tokens_issued_before": value}}]})
        .to_string();
    let url = format!("{}/users", base.trim_end_matches('/'));
    let url = match url::Url::parse_with_params(&url, [("api_key", secret.key.api_key.as_str())]) {
        Ok(u) => u,
        Err(_) => return Outcome::Failed("STREAM_API_URL is not a URL".to_owned()),
    };
    let r = http
        .send(|| {
            http.client()
                .patch(url.clone())
                .header("Content-Type", "application/json")
                .header("Authorization", token.as_str())
                .header("stream-auth-type", "jwt")
                .body(body.clone())
        })
        .await;
    match (r, value) {
        (Err(why), _) => Outcome::Failed(why),
        (Ok(r), _) if !r.ok() => Outcome::Failed(describe_failure(&r)),
        (Ok(_), Some(at)) => Outcome::Kicked(format!(
            "tokens issued before {at} revoked (connections using them are refused)"
        )),
        (Ok(_), None) => Outcome::Cleared("token revocation cleared".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_javascript() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        // new Date(1796527563000).toISOString()
        assert_eq!(iso8601(1_796_527_563), "2026-12-06T03:26:03.000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
    }
}
