//! ALL use of the AWS SDK: one `SdkConfig` built at INIT with tight timeouts and bounded retries
//! (so INIT and requests never hang on an unreachable endpoint), and Secrets Manager reads.
//!
//! The endpoint follows the SDK's own variables: `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`), which is how the tests point it at `moto_server`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::secrets::{SecretSource, SourceError, SourceFuture};

/// The AWS clients of one function, built once.
#[derive(Clone, Debug)]
pub struct Aws {
    sdk: SdkConfig,
    sm: aws_sdk_secretsmanager::Client,
}

/// Timeouts: connect 1 s, each attempt 2 s, the whole operation 3 s (two attempts), well inside the
/// Lambda timeout and the 10 s INIT budget (docs/time-budget.md).
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .read_timeout(Duration::from_millis(2000))
        .operation_attempt_timeout(Duration::from_millis(2000))
        .operation_timeout(Duration::from_millis(3000))
        .build()
}

fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(50))
}

impl Aws {
    /// Loads the SDK configuration from the environment (region, credentials, endpoint).
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries())
            .load()
            .await;
        Self::from_sdk_config(sdk)
    }

    /// For tests and tools: an explicit endpoint (e.g. moto_server), region and static credentials,
    /// without reading the process environment.
    pub async fn for_endpoint(endpoint: &str, region: &str) -> Self {
        let creds =
            aws_sdk_secretsmanager::config::Credentials::new("test", "test", None, None, "static");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(creds)
            .load()
            .await;
        Self::from_sdk_config(sdk)
    }

    /// Wraps an existing configuration.
    pub fn from_sdk_config(sdk: SdkConfig) -> Self {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        Aws { sdk, sm }
    }

    /// The shared SDK configuration (for other clients, e.g. DynamoDB in the access checks).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The Secrets Manager client.
    pub fn secrets_manager(&self) -> &aws_sdk_secretsmanager::Client {
        &self.sm
    }

    /// `GetSecretValue` of `id`, as a string. Errors name the secret id, never its value.
    pub async fn get_secret_string(&self, id: &str) -> Result<String, SourceError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        match self.sm.get_secret_value().secret_id(id).send().await {
            Ok(out) => {
                out.secret_string()
                    .map(str::to_owned)
                    .ok_or_else(|| SourceError::Malformed {
                        id: id.to_owned(),
                        reason: "the secret has no SecretString (binary secrets are not supported)"
                            .to_owned(),
                    })
            }
            Err(SdkError::ServiceError(e)) => match e.err() {
                GetSecretValueError::ResourceNotFoundException(_) => {
                    Err(SourceError::NotFound { id: id.to_owned() })
                }
                other => Err(SourceError::Unavailable {
                    id: id.to_owned(),
                    reason: format!(
                        "Secrets Manager error: {}",
                        other.meta().code().unwrap_or("unknown")
                    ),
                }),
            },
            Err(e) => Err(SourceError::Unavailable {
                id: id.to_owned(),
                reason: format!("Secrets Manager unreachable: {}", error_kind(&e)),
            }),
        }
    }
}

fn error_kind<E, R>(e: &aws_sdk_secretsmanager::error::SdkError<E, R>) -> &'static str {
    use aws_sdk_secretsmanager::error::SdkError;
    match e {
        SdkError::ConstructionFailure(_) => "request construction failed",
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "connection failed",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service error",
        _ => "unknown error",
    }
}

impl SecretSource for Aws {
    fn fetch<'a>(&'a self, id: &'a str) -> SourceFuture<'a> {
        Box::pin(self.get_secret_string(id))
    }
}
