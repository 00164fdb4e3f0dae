//! The Lambda host: what each function's `main` runs.
//!
//! INIT builds the shared [`Service`] once (configuration from the environment, secrets from Secrets
//! Manager, caller-auth keys); every invocation is then [`crate::handle`], which answers every request
//! itself (4xx/5xx included) and never returns `Err`. There is no development caller issuer here.

use std::convert::Infallible;

use lambda_http::{service_fn, Error, Request};

use crate::{telemetry, Provider, Service};

/// Runs the function for `provider` until the Lambda runtime stops it. `Err` only when INIT fails
/// (the message names the variable or secret id, never a value).
pub async fn run(provider: Provider) -> Result<(), Error> {
    telemetry::init_json_logs();
    let service = match Service::from_env(provider).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "INIT failed");
            return Err(e.into());
        }
    };
    // Lives for the whole process; the handler borrows it.
    let service: &'static Service = Box::leak(Box::new(service));
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(crate::handle(service, req).await)
    }))
    .await
}
