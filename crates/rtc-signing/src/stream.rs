//! Stream (getstream.io) Chat and Video tokens (HS256 JWT). CONTRACT stub: implement.
//! Names used by token-service/CLI: StreamKey, user_token, video_token, server_token, verify, StreamClaims.
