//! Agora 007 and 006 parsers (and verifiers) on arbitrary input: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtc_signing::agora::{AccessToken006, AccessToken2};

const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

fuzz_target!(|data: &[u8]| {
    // Inflated payloads directly (reaches the service decoders without zlib in the way).
    if let Ok(p) = AccessToken2::parse_payload(data) {
        let _ = p.verify_with_certificate(CERT);
        let _ = p.is_expired(u64::MAX);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = AccessToken2::parse(s) {
            let _ = p.verify_with_certificate(CERT);
        }
        if let Ok(t) = AccessToken006::parse(s) {
            let _ = t.verify_with_certificate(CERT, "channel", "1");
            let _ = t.expires_at();
        }
    }
});
