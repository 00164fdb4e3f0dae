//! [`ApiError`]: every way a request can fail, mapped in one place to the status, headers and the
//! JSON error shape `{"error":{"code":"...","message":"..."}}` the clients see.
//!
//! Messages are written for the client and never contain a token, a secret or the caller's JWT.

use http::{header, HeaderValue, Response, StatusCode};

/// A failed request. `code()` is the stable machine-readable code; `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400 `bad_request`: the body is valid JSON but a value breaks a rule.
    BadRequest(String),
    /// 400 `invalid_json`: the body is not JSON of the expected shape.
    InvalidJson(String),
    /// 400 `unknown_field`: the body has a field this route does not take.
    UnknownField(String),
    /// 401 `unauthorized`: no, or an invalid, caller JWT. The message is generic on purpose.
    Unauthorized,
    /// 403 with a policy or access code (`subject_denied`, `room_not_allowed`, `banned`, ...).
    Forbidden {
        /// The stable code.
        code: &'static str,
        /// The explanation for the client.
        message: String,
    },
    /// 404 `not_found`: no such route.
    NotFound,
    /// 405 `method_not_allowed` with `Allow`.
    MethodNotAllowed {
        /// The value of the `Allow` header.
        allow: &'static str,
    },
    /// 413 `payload_too_large`.
    PayloadTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// 415 `unsupported_media_type`.
    UnsupportedMediaType,
    /// 429 `rate_limited` with `Retry-After`.
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 500 `internal`: a bug; details go to the log only.
    Internal,
    /// 502 `bad_gateway` with `Retry-After`: an upstream answered wrongly.
    BadGateway {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 503 `service_unavailable` with `Retry-After`: a dependency (Secrets Manager, access store)
    /// is unreachable; the request may be retried.
    Unavailable {
        /// Seconds until a retry may succeed.
        retry_after: u64,
        /// What is unavailable, for the client (never a secret id's content).
        message: &'static str,
    },
}

impl ApiError {
    /// A 403 with a code and message.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidJson(_) | ApiError::UnknownField(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable error code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::UnknownField(_) => "unknown_field",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal => "internal",
            ApiError::BadGateway { .. } => "bad_gateway",
            ApiError::Unavailable { .. } => "service_unavailable",
        }
    }

    /// The human-readable message of the JSON body.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m) | ApiError::InvalidJson(m) | ApiError::UnknownField(m) => {
                m.clone()
            }
            ApiError::Unauthorized => "missing or invalid caller token".to_owned(),
            ApiError::Forbidden { message, .. } => message.clone(),
            ApiError::NotFound => "no such route".to_owned(),
            ApiError::MethodNotAllowed { allow } => format!("method not allowed; use {allow}"),
            ApiError::PayloadTooLarge { limit } => {
                format!("request body larger than {limit} bytes")
            }
            ApiError::UnsupportedMediaType => "content type must be application/json".to_owned(),
            ApiError::RateLimited { .. } => "too many requests; retry later".to_owned(),
            ApiError::Internal => "internal error".to_owned(),
            ApiError::BadGateway { .. } => {
                "an upstream service answered wrongly; retry later".to_owned()
            }
            ApiError::Unavailable { message, .. } => (*message).to_owned(),
        }
    }

    /// The `Retry-After` seconds, for the statuses that carry one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after }
            | ApiError::BadGateway { retry_after }
            | ApiError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The complete HTTP response: status, JSON body, `Cache-Control: no-store` and the status'
    /// own headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub fn into_response(self) -> Response<String> {
        let body = serde_json::json!({"error": {"code": self.code(), "message": self.message()}});
        let mut resp = json_response(self.status(), &body);
        let headers = resp.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ApiError {}

/// A JSON response with `Content-Type: application/json` and `Cache-Control: no-store`.
pub fn json_response<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Response<String> {
    // Serialising a `serde_json::Value` or one of the handler's answer structs cannot fail (string
    // keys, no non-finite floats).
    // Sized for an answer with a token in it, so the buffer does not grow as the token is written.
    let mut json = Vec::with_capacity(1024);
    let text = match serde_json::to_writer(&mut json, body) {
        Ok(()) => String::from_utf8(json).unwrap_or_else(|_| "{}".to_owned()),
        Err(_) => "{}".to_owned(),
    };
    let mut resp = Response::new(text);
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(resp: &Response<String>) -> serde_json::Value {
        serde_json::from_str(resp.body()).unwrap()
    }

    #[test]
    fn every_error_has_the_documented_status_and_shape() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::BadRequest("x".into()), 400, "bad_request"),
            (ApiError::InvalidJson("x".into()), 400, "invalid_json"),
            (ApiError::UnknownField("x".into()), 400, "unknown_field"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (
                ApiError::forbidden("room_not_allowed", "no"),
                403,
                "room_not_allowed",
            ),
            (ApiError::NotFound, 404, "not_found"),
            (
                ApiError::MethodNotAllowed { allow: "POST" },
                405,
                "method_not_allowed",
            ),
            (
                ApiError::PayloadTooLarge { limit: 16384 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::RateLimited { retry_after: 7 },
                429,
                "rate_limited",
            ),
            (ApiError::Internal, 500, "internal"),
            (ApiError::BadGateway { retry_after: 2 }, 502, "bad_gateway"),
            (
                ApiError::Unavailable {
                    retry_after: 3,
                    message: "down",
                },
                503,
                "service_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let retry = err.retry_after();
            let resp = err.into_response();
            assert_eq!(resp.status().as_u16(), status);
            let body = body_json(&resp);
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
            assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
            assert_eq!(
                resp.headers()
                    .get(header::RETRY_AFTER)
                    .map(|v| v.to_str().unwrap().to_owned()),
                retry.map(|s| s.to_string())
            );
        }
    }

    #[test]
    fn unauthorized_and_405_carry_their_headers() {
        let r = ApiError::Unauthorized.into_response();
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
        let r = ApiError::MethodNotAllowed { allow: "POST" }.into_response();
        assert_eq!(r.headers()[header::ALLOW], "POST");
    }
}
