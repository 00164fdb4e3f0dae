//! Shared by the `access_*` tests: a `moto_server` child process on a free loopback port (the
//! launcher in `common/moto.rs`), a DynamoDB client for it that counts the HTTP calls it makes, and
//! the access table.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

#[path = "../common/moto.rs"]
mod moto;
pub use moto::Moto;

/// Counts the HTTP requests a client sends, by DynamoDB operation (`X-Amz-Target`).
#[derive(Debug, Default, Clone)]
pub struct CallLog(pub Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// Operations sent since the last `take`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .trim_start_matches("DynamoDB_20120810.")
            .to_owned();
        self.0.lock().expect("lock").push(op);
        Ok(())
    }
}

/// A DynamoDB client for `endpoint` with static test credentials, logging its calls to `log`.
pub fn client(endpoint: &str, log: &CallLog) -> Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .interceptor(log.clone())
        .build();
    Client::from_conf(conf)
}

/// Creates the access table as the SAM template does: `pk`/`sk` strings, on-demand.
pub async fn create_table(client: &Client, name: &str) {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create the access table");
}
