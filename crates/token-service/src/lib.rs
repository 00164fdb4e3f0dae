//! The rtc-tokens request path, shared by the three Lambda functions and `rtc-token serve`.
//! CONTRACT: `Provider`, `Service::from_env`, `handle`. Implement in modules: config, secrets (AWS),
//! policy, access (DynamoDB / webhook), handler, error, telemetry.

#![forbid(unsafe_code)]
