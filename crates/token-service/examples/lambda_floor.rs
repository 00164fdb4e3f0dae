//! The floor of a Lambda request: a lambda_http function that answers every invocation with a canned
//! 200 JSON body, on the same runtime flavour as the three functions (`current_thread`). Measured
//! beside `agora-token` under the same Runtime API emulator (bench/lambda-emulator/warm.py), the
//! difference is what our handler costs per request as Lambda runs it.
//!
//! `cargo build --release -p token-service --example lambda_floor`

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        let mut resp = Response::new(Body::Text(r#"{"token":"floor"}"#.to_owned()));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Ok::<_, Error>(resp)
    }))
    .await
}
