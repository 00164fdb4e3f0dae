//! LiveKit access tokens (HS256 JWT): a pure builder with validation in `to_jwt`, and a verifier.
//! CONTRACT: names used by token-service/CLI: LiveKitKey, VideoGrants, SipGrants, RoomConfiguration,
//! AccessToken (builder), Claims, verify. Implement the bodies.

use crate::Secret;

/// LiveKit API key + secret. `Debug` hides the secret.
#[derive(Clone, Debug)]
pub struct LiveKitKey {
    pub api_key: String,
    pub api_secret: Secret,
}

/// The `video` grant (camelCase on the wire, unset = omitted).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrants {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub room_join: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_subscribe: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_publish_sources: Vec<String>,
    // (implementer: add every other grant of the current protocol)
}
