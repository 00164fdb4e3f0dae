//! Criterion benchmarks: every mint and every parse/verify.
//!
//! Run: `cargo bench -p rtc-signing --bench signing -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use rtc_signing::agora::{self, AccessToken006, AccessToken2, AgoraKey, MintAt, RtcRole, RtcUser};
use rtc_signing::livekit::{self, AccessToken, LiveKitKey, VideoGrants};
use rtc_signing::{stream, Secret};
use std::hint::black_box;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";
const NOW: u64 = 1_700_000_000;
const AT: MintAt = MintAt {
    issued_at: 1_700_000_000,
    salt: 12_345_678,
};
const TOKEN_006: &str = "006970CA35de60c44645bbae8a215061b33IACV0fZUBw+72cVoL9eyGGh3Q6Poi8bgjwVLnyKSJyOXR7dIfRBXoFHlEAABAAAAR/QQAAEAAQCvKDdW";

fn agora(c: &mut Criterion) {
    let key = AgoraKey::new(APP_ID, CERT).expect("key");
    let user = RtcUser::Uid(2_882_341_273);
    // `fresh`: a new salt and time on every call, as a server mints, so the compressed payload
    // differs each time.
    let mut publisher = |name: &str, fresh: bool| {
        let mut at = AT;
        c.bench_function(name, |b| {
            b.iter(|| {
                if fresh {
                    at.salt =
                        at.salt.wrapping_mul(1_103_515_245).wrapping_add(12_345) % 99_999_999 + 1;
                    at.issued_at += 1;
                }
                agora::rtc_token(
                    &key,
                    black_box(CHANNEL),
                    &user,
                    RtcRole::Publisher,
                    3600,
                    3600,
                    at,
                )
            })
        });
    };
    publisher("agora/mint/rtc_publisher", false);
    publisher("agora/mint/rtc_publisher_fresh_salt", true);
    c.bench_function("agora/mint/rtm", |b| {
        b.iter(|| agora::rtm_token(&key, black_box("test_user"), 3600, AT))
    });
    c.bench_function("agora/mint/chat_user", |b| {
        b.iter(|| agora::chat_user_token(&key, black_box("test_user"), 3600, AT))
    });
    let token =
        agora::rtc_token(&key, CHANNEL, &user, RtcRole::Publisher, 3600, 3600, AT).expect("mint");
    c.bench_function("agora/parse/rtc", |b| {
        b.iter(|| AccessToken2::parse(black_box(&token)))
    });
    c.bench_function("agora/parse_verify/rtc", |b| {
        b.iter(|| AccessToken2::parse(black_box(&token)).and_then(|p| p.verify(&key)))
    });
    c.bench_function("agora/parse_verify/006", |b| {
        b.iter(|| {
            AccessToken006::parse(black_box(TOKEN_006))
                .and_then(|p| p.verify(&key, CHANNEL, "2882341273"))
        })
    });
}

fn livekit_bench(c: &mut Criterion) {
    let key = LiveKitKey::new(
        "APIvectorKey01",
        "lk-vector-secret-0123456789abcdef0123456789",
    )
    .expect("key");
    let grants = VideoGrants {
        room_join: true,
        room: "room-1".into(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        ..Default::default()
    };
    let builder = AccessToken::new(&key)
        .with_identity("alice")
        .with_name("Alice")
        .with_grants(grants.clone())
        .with_ttl(3600);
    c.bench_function("livekit/mint/join", |b| {
        b.iter(|| black_box(&builder).to_jwt(NOW))
    });
    c.bench_function("livekit/mint/join_with_builder", |b| {
        b.iter(|| {
            AccessToken::new(&key)
                .with_identity(black_box("alice"))
                .with_name("Alice")
                .with_grants(grants.clone())
                .with_ttl(3600)
                .to_jwt(NOW)
        })
    });
    let token = builder.to_jwt(NOW).expect("mint");
    c.bench_function("livekit/verify", |b| {
        b.iter(|| livekit::verify(black_box(&token), &key, NOW, 60))
    });
}

fn stream_bench(c: &mut Criterion) {
    let key = stream::StreamKey::new(
        "streamvectorkey",
        "stream-vector-secret-0123456789abcdef0123",
    )
    .expect("key");
    c.bench_function("stream/mint/user", |b| {
        b.iter(|| stream::user_token(&key, black_box("john"), NOW, Some(NOW + 3600)))
    });
    let cids = ["default:call-1", "livestream:show-9"];
    c.bench_function("stream/mint/video", |b| {
        b.iter(|| {
            stream::video_token(
                &key,
                black_box("john"),
                &cids,
                Some("admin"),
                NOW,
                Some(NOW + 3600),
            )
        })
    });
    let token = stream::user_token(&key, "john", NOW, Some(NOW + 3600)).expect("mint");
    let secret = Secret::new("stream-vector-secret-0123456789abcdef0123");
    c.bench_function("stream/verify", |b| {
        b.iter(|| stream::verify(black_box(&token), &secret, NOW, 0))
    });
}

criterion_group!(benches, agora, livekit_bench, stream_bench);
criterion_main!(benches);
