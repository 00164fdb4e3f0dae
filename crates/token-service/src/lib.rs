//! The rtc-tokens request path, shared by the three Lambda functions and `rtc-token serve`.
//!
//! One [`Service`] per route is built once (INIT) and shared by reference; [`handle`] (the HTTP
//! application, over plain `http` requests) answers one request for the routes of the services it is
//! given and never fails (client errors are 4xx responses). The Lambda host ([`lambda`]) runs it for
//! one route through lambda_http; `rtc-token serve` runs it for all three on hyper.
//!
//! Modules: [`config`] (environment), [`aws`] (all AWS SDK use), [`secrets`] (typed secrets and the
//! refreshing cache), [`policy`] (who gets which token), [`access`] (live access checks),
//! [`routes`] (the application: the shared pipeline and one module per provider route), [`error`]
//! (the HTTP error shape), [`telemetry`] (log and metric lines), [`clock`] (time and randomness).

#![forbid(unsafe_code)]

pub mod access;
pub mod aws;
pub mod clock;
pub mod config;
pub mod error;
pub mod lambda;
pub mod livekit_room;
pub mod policy;
pub mod routes;
pub mod secrets;
pub mod service;
pub mod telemetry;

pub use error::ApiError;
pub use routes::{handle, RequestInfo};
pub use service::{InitError, Service, ServiceParts};

/// The provider a function mints for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Agora AccessToken2 (RTC, RTM, Chat).
    Agora,
    /// LiveKit access tokens.
    LiveKit,
    /// Stream Chat / Video tokens.
    Stream,
}

impl Provider {
    /// All providers.
    pub const ALL: [Provider; 3] = [Provider::Agora, Provider::LiveKit, Provider::Stream];

    /// `agora`, `livekit`, `stream`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Agora => "agora",
            Provider::LiveKit => "livekit",
            Provider::Stream => "stream",
        }
    }

    /// The route this provider's function serves.
    pub fn route(self) -> &'static str {
        match self {
            Provider::Agora => "/agora/token",
            Provider::LiveKit => "/livekit/token",
            Provider::Stream => "/stream/token",
        }
    }

    /// The environment variable naming the provider secret.
    pub fn secret_id_var(self) -> &'static str {
        match self {
            Provider::Agora => "AGORA_SECRET_ID",
            Provider::LiveKit => "LIVEKIT_SECRET_ID",
            Provider::Stream => "STREAM_SECRET_ID",
        }
    }
}
