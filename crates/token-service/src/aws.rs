//! ALL use of the AWS SDK: one `SdkConfig` built at INIT with tight timeouts and bounded retries
//! (so INIT and requests never hang on an unreachable endpoint), and Secrets Manager reads.
//!
//! On Lambda the configuration is built on a blocking thread ([`Aws::start_from_env`]) while INIT
//! goes on: loading it builds the SDK's HTTPS client, which reads and parses the platform's CA roots,
//! the largest part of INIT's own CPU (BENCHMARKS.md, "With the network in it"). On the one runtime
//! thread that work held back INIT's other requests, the caller's keys among them (the slowest
//! chain); beside it they leave at once, and the first Secrets Manager read waits for the clients.
//!
//! The endpoint follows the SDK's own variables: `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`), which is how the tests point it at `moto_server`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::secrets::{SecretSource, SourceError, SourceFuture};

/// The AWS clients of one function, built once; cheap to clone (shared).
#[derive(Clone)]
pub struct Aws(Arc<Inner>);

struct Inner {
    clients: tokio::sync::OnceCell<Clients>,
    /// The configuration being loaded on a blocking thread ([`Aws::start_from_env`]), until the
    /// first use takes it.
    loading: Mutex<Option<tokio::task::JoinHandle<Clients>>>,
}

struct Clients {
    sdk: SdkConfig,
    sm: aws_sdk_secretsmanager::Client,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("loaded", &self.0.clients.initialized())
            .finish_non_exhaustive()
    }
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

async fn load_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

impl Aws {
    /// Loads the SDK configuration from the environment (region, credentials, endpoint).
    pub async fn from_env() -> Self {
        Self::from_sdk_config(load_env().await)
    }

    /// As [`Aws::from_env`], but returns at once: the configuration is loaded on a blocking thread
    /// of the current Tokio runtime, and the first use waits for it (see the module docs).
    pub fn start_from_env() -> Self {
        let runtime = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || Clients::new(runtime.block_on(load_env())));
        Aws(Arc::new(Inner {
            clients: tokio::sync::OnceCell::new(),
            loading: Mutex::new(Some(task)),
        }))
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
        Aws(Arc::new(Inner {
            clients: tokio::sync::OnceCell::new_with(Some(Clients::new(sdk))),
            loading: Mutex::new(None),
        }))
    }

    async fn clients(&self) -> &Clients {
        self.0
            .clients
            .get_or_init(|| async {
                let task = self.0.loading.lock().ok().and_then(|mut t| t.take());
                match task {
                    Some(task) => match task.await {
                        Ok(clients) => clients,
                        // The blocking thread was cancelled (runtime shutting down): load here.
                        Err(_) => Clients::new(load_env().await),
                    },
                    None => Clients::new(load_env().await),
                }
            })
            .await
    }

    /// The shared SDK configuration (for other clients, e.g. DynamoDB in the access checks).
    pub async fn sdk_config(&self) -> &SdkConfig {
        &self.clients().await.sdk
    }

    /// The Secrets Manager client.
    pub async fn secrets_manager(&self) -> &aws_sdk_secretsmanager::Client {
        &self.clients().await.sm
    }

    /// `GetSecretValue` of `id`, as a string. Errors name the secret id, never its value.
    pub async fn get_secret_string(&self, id: &str) -> Result<String, SourceError> {
        use aws_sdk_secretsmanager::error::SdkError;
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let sm = self.secrets_manager().await;
        match sm.get_secret_value().secret_id(id).send().await {
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

impl Clients {
    fn new(sdk: SdkConfig) -> Self {
        let sm = aws_sdk_secretsmanager::Client::new(&sdk);
        Clients { sdk, sm }
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
