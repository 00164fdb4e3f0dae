//! The Lambda host: what each function's `main` runs.
//!
//! INIT builds the function's [`Service`] once (configuration from the environment, secrets from
//! Secrets Manager, caller-auth keys); lambda_http then runs the application ([`crate::handle`]) for
//! every invocation, which answers every request itself (4xx/5xx included) and never returns `Err`.
//! There is no development caller issuer here.
//!
//! [`app_request`] is all that is Lambda-specific about a request: lambda_http has already turned the
//! API Gateway event into an `http::Request`; the request id comes from its context extensions into
//! our [`RequestInfo`], and the route is API Gateway's `rawPath` with a named stage prefix removed
//! (`/prod/agora/token` on stage `prod` is `/agora/token`). lambda_http's own
//! `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` cannot do that: it only stops lambda_http from *adding* the
//! stage to the path, it never removes one; the raw path does not depend on it.

use std::convert::Infallible;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Error, Request, RequestExt};

use crate::{telemetry, Provider, RequestInfo, Service};

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
    let services = [service];
    let services = &services;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(crate::handle(services, app_request(req)).await)
    }))
    .await
}

/// The application's request for a request lambda_http built from an API Gateway event.
pub fn app_request(req: Request) -> http::Request<Bytes> {
    let request_id = lambda_request_id(&req);
    let deadline = req
        .lambda_context_ref()
        .map(|c| c.deadline)
        .filter(|d| *d > 0);
    let path = route_path(&req);
    let (mut parts, body) = req.into_parts();
    if let Some(path) = path {
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = http::Uri::try_from(path_and_query) {
            parts.uri = uri;
        }
    }
    if let Some(request_id) = request_id {
        parts.extensions.insert(RequestInfo { request_id });
    }
    if let Some(deadline) = deadline {
        parts.extensions.insert(crate::routes::Deadline(deadline));
    }
    let body = match body {
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        other => Bytes::copy_from_slice(&other),
    };
    http::Request::from_parts(parts, body)
}

/// The invocation's request id, else API Gateway's.
fn lambda_request_id(req: &Request) -> Option<String> {
    if let Some(ctx) = req
        .lambda_context_ref()
        .filter(|c| !c.request_id.is_empty())
    {
        return Some(ctx.request_id.clone());
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
}

/// The route path when it differs from the request URI's: `rawPath` without a named stage prefix.
fn route_path(req: &Request) -> Option<String> {
    let raw = req.raw_http_path();
    if raw.is_empty() {
        return None;
    }
    let mut path = raw;
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(stage) = ctx
            .stage
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "$default")
        {
            if let Some(rest) = raw.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                if rest.starts_with('/') {
                    path = rest;
                }
            }
        }
    }
    (path != req.uri().path()).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(raw: &str, stage: &str) -> Request {
        let j = serde_json::json!({
            "version": "2.0", "routeKey": "POST /agora/token", "rawPath": raw, "rawQueryString": "a=1",
            "headers": {}, "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
            "http": {"method": "POST", "path": raw, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "t"},
            "requestId": "rid-1", "routeKey": "POST /agora/token", "stage": stage, "time": "t", "timeEpoch": 0},
            "body": "{}", "isBase64Encoded": false
        });
        lambda_http::request::from_str(&j.to_string()).unwrap()
    }

    #[test]
    fn named_stage_is_stripped() {
        let path = |raw: &str, stage: &str| app_request(event(raw, stage)).uri().path().to_owned();
        assert_eq!(path("/prod/agora/token", "prod"), "/agora/token");
        assert_eq!(path("/agora/token", "$default"), "/agora/token");
        assert_eq!(path("/agora/token", "prod"), "/agora/token");
        assert_eq!(
            path("/production/agora/token", "prod"),
            "/production/agora/token"
        );
        // Routed on the raw path, as API Gateway matched it (lambda_http normalises its URI).
        assert_eq!(path("/x/../agora/token", "$default"), "/x/../agora/token");
    }

    #[test]
    fn request_id_query_and_body_are_kept() {
        let req = app_request(event("/prod/agora/token", "prod"));
        assert_eq!(req.uri().query(), Some("a=1"));
        assert_eq!(req.body().as_ref(), b"{}");
        let info = req.extensions().get::<RequestInfo>().unwrap();
        assert_eq!(info.request_id, "rid-1");
    }
}
