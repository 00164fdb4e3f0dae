//! AWS Lambda function `agora-token`: mints agora tokens for verified callers.
//!
//! Thin on purpose: everything lives in [`token_service::lambda::run`] (INIT once, then the shared
//! handler for every invocation). There is no development caller issuer in this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    token_service::lambda::run(token_service::Provider::Agora).await
}
