//! AWS Lambda function `agora-token`: mints agora tokens for verified callers.
//!
//! Thin on purpose: INIT builds the shared [`token_service::Service`] once (configuration from the
//! environment, secrets from Secrets Manager, caller-auth keys), then every invocation is
//! [`token_service::handle`], which answers every request itself (4xx/5xx included) and never
//! returns `Err`. There is no development caller issuer in this binary.

use std::convert::Infallible;

use lambda_http::{run, service_fn, Error, Request};
use token_service::{telemetry, Provider, Service};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let service = match Service::from_env(Provider::Agora).await {
        Ok(s) => s,
        Err(e) => {
            // Fail INIT with the reason (names the variable or secret id, never a value).
            lambda_http::tracing::error!(error = %e, "INIT failed");
            return Err(e.into());
        }
    };
    let service: &'static Service = Box::leak(Box::new(service));
    run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(token_service::handle(service, req).await)
    }))
    .await
}
