//! LiveKit and Stream verifiers (compact JWS HS256) on arbitrary input: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtc_signing::livekit::{self, LiveKitKey};
use rtc_signing::{jws, stream, Secret};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = jws::verify(s, b"secret");
    if let Ok(key) = LiveKitKey::new("APIvectorKey01", "lk-vector-secret-0123456789abcdef0123456789") {
        let _ = livekit::verify(s, &key, 1_700_000_000, 60);
    }
    let _ = stream::verify(s, &Secret::new("stream-vector-secret-0123456789abcdef0123"), 1_700_000_000, 0);
    // Also let the fuzzer reach the claim parsers: sign whatever it gave as a payload.
    if let Ok(t) = jws::sign(data, b"secret") {
        let _ = jws::verify(&t, b"secret");
        if let Ok(key) = LiveKitKey::new("k", "secret") {
            let _ = livekit::verify(&t, &key, 0, 0);
        }
        let _ = stream::verify(&t, &Secret::new("secret"), 0, 0);
    }
});
