//! Fuzzes caller-JWT verification (HS256 configuration) with arbitrary `Authorization` header
//! values. Half the inputs are raw header strings; the other half are built into a structurally
//! valid, correctly signed JWT whose header and claims JSON come from the input, so the claim
//! checks behind the signature are reached too. Verification must never panic, and an accepted
//! token must carry the configured issuer and a non-empty subject.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use caller_auth::{AuthConfig, Authenticator};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const ISSUER: &str = "https://fuzz.rtc-tokens.invalid";
const SECRET: &str = "fuzz-hs256-secret-fuzz-hs256-secret-0000";
const NOW: u64 = 1_767_225_600;

struct Ctx {
    rt: tokio::runtime::Runtime,
    auth: Authenticator,
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
        let config = AuthConfig::from_env(&env).expect("config");
        let auth = rt.block_on(Authenticator::new(config, [SECRET])).expect("authenticator");
        Ctx { rt, auth }
    })
}

fn signed(header: &[u8], claims: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(input.as_bytes());
    format!("Bearer {input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let c = ctx();
    let header = match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => {
            // header JSON and claims JSON separated by the first 0xff byte
            let (h, cl) = match rest.iter().position(|&b| b == 0xff) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (&b"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"[..], rest),
            };
            signed(h, cl)
        }
        Some((_, rest)) => String::from_utf8_lossy(rest).into_owned(),
        None => String::new(),
    };
    if let Ok(caller) = c.rt.block_on(c.auth.authenticate(Some(&header), NOW)) {
        assert!(!caller.subject.is_empty(), "accepted a token without a subject");
        assert_eq!(caller.issuer, ISSUER, "accepted a foreign issuer");
    }
});
