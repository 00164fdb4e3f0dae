//! Fuzzes the request-body parsers of the three routes through the real application: a valid caller
//! JWT, then an arbitrary body (and, by the first byte, the route and content type). The handler
//! must never panic, must answer JSON in the documented error shape for every non-2xx, and never
//! a 500.
#![no_main]

use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use token_service::access::AccessChecker;
use token_service::clock::{ManualClock, SaltFn};
use token_service::secrets::StaticSource;
use token_service::telemetry::{null_sink, Telemetry};
use token_service::{handle, Provider, Service, ServiceParts};

const ISSUER: &str = "https://fuzz.rtc-tokens.invalid";
const SECRET: &str = "fuzz-hs256-secret-fuzz-hs256-secret-0000";
const NOW: u64 = 1_767_225_600;

struct Ctx {
    rt: tokio::runtime::Runtime,
    services: Vec<Service>,
    jwt: String,
}

fn jwt() -> String {
    let claims = format!(r#"{{"iss":"{ISSUER}","sub":"alice","iat":{NOW},"exp":{}}}"#, NOW + 3600);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let env = |k: &str| match k {
            "AUTH_PROVIDER" => Some("hs256".to_owned()),
            "AUTH_ISSUER" => Some(ISSUER.to_owned()),
            _ => None,
        };
        let source = StaticSource::new()
            .with("agora", r#"{"app_id":"970ca35de60c44645bbae8a215061b33","app_certificate":"5cfd2fd1755d40ecb72977518be15d3b"}"#)
            .with("livekit", r#"{"api_key":"devkey","api_secret":"secret-secret-secret-secret-secret-00","url":"wss://x.livekit.cloud"}"#)
            .with("stream", r#"{"api_key":"devkey","api_secret":"stream-secret-stream-secret-stream-00"}"#);
        let source = Arc::new(source);
        let services = Provider::ALL
            .into_iter()
            .map(|provider| {
                let auth = caller_auth::AuthConfig::from_env(&env).expect("auth config");
                let salt: SaltFn = Arc::new(|| 42);
                rt.block_on(Service::from_parts(ServiceParts {
                    provider,
                    auth,
                    source: source.clone(),
                    secret_id: provider.name().to_owned(),
                    auth_hs256_secret_id: None,
                    auth_hs_secrets: vec![rtc_signing::Secret::new(SECRET)],
                    secret_refresh_seconds: 300,
                    policy: token_service::config::policy_source(&|_| None).expect("default policy"),
                    access: AccessChecker::disabled(),
                    clock: Arc::new(ManualClock::new(NOW)),
                    salt,
                    telemetry: Telemetry::new("Fuzz", "fuzz", null_sink()),
                }))
                .expect("service")
            })
            .collect();
        Ctx { rt, services, jwt: jwt() }
    })
}

fuzz_target!(|data: &[u8]| {
    let c = ctx();
    let (sel, body) = data.split_first().map(|(s, b)| (*s, b)).unwrap_or((0, &[][..]));
    let i = (sel % 3) as usize;
    let provider = Provider::ALL[i];
    let content_type = if sel & 0x80 == 0 { "application/json" } else { "application/json; charset=utf-8" };
    let req = match http::Request::builder()
        .method("POST")
        .uri(provider.route())
        .header("content-type", content_type)
        .header("authorization", format!("Bearer {}", c.jwt))
        .body(Bytes::copy_from_slice(body))
    {
        Ok(r) => r,
        Err(_) => return,
    };
    let resp = c.rt.block_on(handle(std::slice::from_ref(&c.services[i]), req));
    let status = resp.status().as_u16();
    assert_ne!(status, 500, "internal error for body {:?}", String::from_utf8_lossy(body));
    let v: serde_json::Value = serde_json::from_str(resp.body()).expect("JSON answer");
    if status >= 400 {
        assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{v}");
    } else {
        assert!(v.is_object());
    }
});
