//! Compact JWS with HMAC-SHA256 (shared by LiveKit and Stream). CONTRACT stub: implement.
