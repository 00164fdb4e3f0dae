//! Property tests: build-then-parse returns the inputs; parsers never panic on arbitrary input.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use rtc_signing::agora::{
    self, AccessToken006, AccessToken2, AgoraKey, MintAt, RtcRole, RtcUser, Service, ServiceBody,
};
use rtc_signing::livekit::{self, AccessToken, LiveKitKey, VideoGrants};
use rtc_signing::{stream, Secret};

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn body() -> impl Strategy<Value = ServiceBody> {
    prop_oneof![
        (text(), text()).prop_map(|(channel, uid)| ServiceBody::Rtc { channel, uid }),
        text().prop_map(|user_id| ServiceBody::Rtm { user_id }),
        (text(), text()).prop_map(|(channel, account)| ServiceBody::Streaming { channel, account }),
        Just(ServiceBody::Fpa),
        text().prop_map(|user_id| ServiceBody::Chat { user_id }),
        (text(), text()).prop_map(|(channel, account)| ServiceBody::Fcdn { channel, account }),
        (text(), text(), any::<i16>()).prop_map(|(room_uuid, user_uuid, role)| {
            ServiceBody::Apaas {
                room_uuid,
                user_uuid,
                role,
            }
        }),
        (
            text(),
            btree_map(0u16..5, btree_map(0u16..2, vec(text(), 0..3), 0..3), 0..4)
        )
            .prop_map(|(user_id, permissions)| ServiceBody::Rtm2 {
                user_id,
                permissions
            }),
        Just(ServiceBody::ConvoAi),
        Just(ServiceBody::Stt),
    ]
}

fn service() -> impl Strategy<Value = Service> {
    (body(), btree_map(any::<u16>(), any::<u32>(), 0..5))
        .prop_map(|(body, privileges)| Service { privileges, body })
}

fn channel() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 !#$%&()+:;<=.>?@\\[\\]^_{}|~,-]{1,63}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn agora_build_then_parse_returns_the_inputs(
        issued_at in any::<u32>(), expire in any::<u32>(), salt in any::<u32>(), services in vec(service(), 1..6)
    ) {
        let mut t = AccessToken2::new(APP_ID, issued_at, expire, salt);
        for s in &services {
            t = t.with_service(s.clone());
        }
        let token = t.build_with_certificate(CERT).unwrap();
        let parsed = AccessToken2::parse(&token).unwrap();
        parsed.verify_with_certificate(CERT).unwrap();
        let mut want = services.clone();
        want.sort_by_key(Service::service_type); // stable, like the builders
        prop_assert_eq!(&parsed.token.services, &want);
        prop_assert_eq!((parsed.token.issued_at, parsed.token.expire, parsed.token.salt), (issued_at, expire, salt));
        prop_assert_eq!(parsed.expires_at(), u64::from(issued_at) + u64::from(expire));
    }

    #[test]
    fn rtc_token_round_trips(ch in channel(), uid in any::<u32>(), publisher in any::<bool>(), ttl in 1u32..=86_400, pttl in 0u32..=86_400, salt in any::<u32>()) {
        let key = AgoraKey::new(APP_ID, CERT).unwrap();
        let role = if publisher { RtcRole::Publisher } else { RtcRole::Subscriber };
        let token = agora::rtc_token(&key, &ch, &RtcUser::Uid(uid), role, ttl, pttl, MintAt { issued_at: 1_700_000_000, salt }).unwrap();
        let parsed = AccessToken2::parse(&token).unwrap();
        parsed.verify(&key).unwrap();
        let want_uid = if uid == 0 { String::new() } else { uid.to_string() };
        prop_assert_eq!(&parsed.token.services[0].body, &ServiceBody::Rtc { channel: ch, uid: want_uid });
        prop_assert_eq!(parsed.token.services[0].privileges.len(), if publisher { 4 } else { 1 });
    }

    #[test]
    fn livekit_build_then_verify_returns_the_inputs(
        identity in "[^\u{0}]{1,64}", room in "[a-z0-9-]{1,64}", name in proptest::option::of(text()),
        attrs in btree_map("[a-z]{1,8}", text(), 0..4), ttl in 1u64..1_000_000, now in 0u64..4_000_000_000,
        can_publish in proptest::option::of(any::<bool>()),
    ) {
        let key = LiveKitKey::new("APIkey", "secret").unwrap();
        let video = VideoGrants { room_join: true, room: room.clone(), can_publish, ..Default::default() };
        let mut t = AccessToken::new(&key).with_identity(identity.clone()).with_grants(video.clone()).with_ttl(ttl).with_attributes(attrs.clone());
        if let Some(n) = &name {
            t = t.with_name(n.clone());
        }
        let c = livekit::verify(&t.to_jwt(now).unwrap(), &key, now, 0).unwrap();
        prop_assert_eq!(c.sub.as_deref(), Some(identity.as_str()));
        prop_assert_eq!((c.exp, c.nbf), (now + ttl, Some(now)));
        prop_assert_eq!(c.grants.video, Some(video));
        prop_assert_eq!(c.grants.name, name);
        prop_assert_eq!(c.grants.attributes, attrs);
    }

    #[test]
    fn stream_build_then_verify_returns_the_inputs(user in "[a-zA-Z0-9@_-]{1,64}", now in 10u64..4_000_000_000, life in proptest::option::of(1u64..100_000)) {
        let key = stream::StreamKey::new("k", "s3cret").unwrap();
        let exp = life.map(|l| now + l);
        let c = stream::verify(&stream::user_token(&key, &user, now, exp).unwrap(), &Secret::new("s3cret"), now, 0).unwrap();
        prop_assert_eq!(c.user_id.as_deref(), Some(user.as_str()));
        prop_assert_eq!(c.exp, exp);
        prop_assert_eq!(c.iat, Some(now - stream::IAT_BACKDATE_SECS));
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(s in ".{0,300}") {
        let _ = AccessToken2::parse(&s);
        let _ = AccessToken2::parse(&format!("007{s}"));
        let _ = AccessToken006::parse(&format!("006{APP_ID}{s}"));
        let key = LiveKitKey::new("k", "s").unwrap();
        let _ = livekit::verify(&s, &key, 0, 0);
        let _ = stream::verify(&s, &Secret::new("s"), 0, 0);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(b in vec(any::<u8>(), 0..400)) {
        let _ = AccessToken2::parse_payload(&b);
        use base64::Engine;
        let enc = base64::engine::general_purpose::STANDARD.encode(&b);
        let _ = AccessToken2::parse(&format!("007{enc}"));
        let _ = AccessToken006::parse(&format!("006{APP_ID}{enc}"));
        let _ = rtc_signing::jws::verify(&format!("{}.{}.{}", rtc_signing::jws::HEADER_B64, enc, enc), b"k");
    }

    #[test]
    fn parse_payload_never_panics_on_mutated_valid_payloads(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let t = AccessToken2::new(APP_ID, 1, 600, 1)
            .with_service(Service::new(ServiceBody::Rtc { channel: "c".into(), uid: "1".into() }).with_privilege(1, 600))
            .with_service(Service::new(ServiceBody::Rtm2 { user_id: "u".into(), permissions: [(0, [(1, vec!["r".to_string()])].into())].into() }));
        let mut p = t.payload(CERT).unwrap();
        let i = pos.index(p.len());
        p[i] = byte;
        let _ = AccessToken2::parse_payload(&p);
        let _ = AccessToken2::parse_payload(&p[..cut.index(p.len())]);
    }
}
