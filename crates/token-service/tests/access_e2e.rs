//! The seeds' scenarios end to end: the real handler (`token_service::handle`) built by
//! `Service::from_env_with` with `ACCESS_TABLE`, secrets and the access table in one `moto_server`,
//! HS256 caller JWTs, and `AccessStore` as the administrator (what `rtc-token admin` calls).

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use common::{
    agora_secret, call, claims, getter, hs256_env, hs256_jwt, livekit_secret, post, unix_now,
    Answer, Moto, AGORA_CERT, HS_SECRET,
};
use serde_json::{json, Value};
use token_service::access::{AccessStore, BanScope, RoomItem, RoomStatus};
use token_service::clock::ManualClock;
use token_service::{Provider, Service};

const TABLE: &str = "rtc-access-e2e";

struct World {
    moto: Moto,
    store: AccessStore,
    clock: ManualClock,
}

async fn world() -> World {
    let moto = Moto::start();
    moto.put_secret("caller-hs256", HS_SECRET).await;
    moto.put_secret("agora-secret", &agora_secret(AGORA_CERT))
        .await;
    moto.put_secret("livekit-secret", &livekit_secret()).await;
    let aws = moto.aws().await;
    let store = AccessStore::new(aws_sdk_dynamodb::Client::new(aws.sdk_config().await), TABLE);
    store.create_table().await.unwrap();
    World {
        moto,
        store,
        clock: ManualClock::new(unix_now()),
    }
}

impl World {
    async fn service(&self, provider: Provider, extra: &[(&str, &str)]) -> Service {
        let mut env: HashMap<String, String> = hs256_env(provider);
        env.insert("ACCESS_TABLE".into(), TABLE.into());
        env.insert("ACCESS_REQUIRE_ROOM".into(), "true".into());
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let get = getter(env);
        Service::from_env_with(
            provider,
            &get,
            self.moto.aws().await,
            Arc::new(self.clock.clone()),
        )
        .await
        .unwrap()
    }

    fn now(&self) -> u64 {
        use token_service::clock::Clock;
        self.clock.now()
    }

    fn jwt(&self, sub: &str) -> String {
        hs256_jwt(&claims(sub, self.now(), json!({})), HS_SECRET)
    }

    async fn room(
        &self,
        provider: &str,
        name: &str,
        owner: &str,
        roles: &[&str],
        exp: Option<u64>,
    ) {
        let item = RoomItem {
            provider: provider.into(),
            room: name.into(),
            owner: Some(owner.into()),
            status: RoomStatus::Scheduled,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            publish_roles: vec![],
            expires_at: exp,
        };
        self.store.create_room(&item, self.now()).await.unwrap();
    }

    async fn status(&self, provider: &str, name: &str, s: RoomStatus) {
        self.store
            .set_room_status(provider, name, s, self.now())
            .await
            .unwrap();
    }
}

async fn agora(svc: &Service, jwt: &str, channel: &str, role: &str) -> Answer {
    call(
        svc,
        post(
            "/agora/token",
            jwt,
            &json!({"channel": channel, "role": role, "ttl": 600}),
        ),
    )
    .await
}

fn assert_denied(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.code(), code, "{}", a.body);
    assert!(a.body.get("token").is_none());
}

fn assert_agora_token(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("007")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_only_publishing_to_a_live_stream_with_refresh_rechecks() {
    let w = world().await;
    let svc = w.service(Provider::Agora, &[]).await;
    w.room("agora", "live-maya", "maya", &[], None).await;
    let (maya, fan) = (w.jwt("maya"), w.jwt("fan-1"));

    // Scheduled: the owner cannot publish yet; fans wait.
    assert_denied(
        &agora(&svc, &maya, "live-maya", "publisher").await,
        403,
        "room_not_live",
    );
    assert_denied(
        &agora(&svc, &fan, "live-maya", "subscriber").await,
        403,
        "room_not_live",
    );
    // A room nobody created.
    assert_denied(
        &agora(&svc, &maya, "live-ghost", "publisher").await,
        403,
        "room_not_found",
    );

    w.status("agora", "live-maya", RoomStatus::Live).await;
    assert_agora_token(&agora(&svc, &maya, "live-maya", "publisher").await);
    assert_agora_token(&agora(&svc, &fan, "live-maya", "subscriber").await);
    assert_denied(
        &agora(&svc, &fan, "live-maya", "publisher").await,
        403,
        "not_owner",
    );

    // Refreshes re-check: fine while live, refused once the stream ended.
    w.clock.advance(480);
    let (maya, fan) = (w.jwt("maya"), w.jwt("fan-1"));
    assert_agora_token(&agora(&svc, &maya, "live-maya", "publisher").await);
    w.status("agora", "live-maya", RoomStatus::Ended).await;
    assert_denied(
        &agora(&svc, &maya, "live-maya", "publisher").await,
        403,
        "room_not_live",
    );
    assert_denied(
        &agora(&svc, &fan, "live-maya", "subscriber").await,
        403,
        "room_not_live",
    );
}

fn livekit_ttl(a: &Answer) -> u64 {
    // LiveKit's standard token endpoint answers 201.
    assert_eq!(a.status, 201, "{}", a.body);
    let token = a.body["participant_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let c: Value = serde_json::from_slice(&bytes).unwrap();
    c["exp"].as_u64().unwrap() - c["nbf"].as_u64().or(c["iat"].as_u64()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guide_and_listeners_on_an_active_tour() {
    let w = world().await;
    let policy = json!({
        "livekit": {"profiles": {
            "guide": {"can_publish": true, "can_subscribe": true, "can_publish_data": true},
            "listener": {"can_subscribe": true}
        }},
        "default_role": "listener"
    })
    .to_string();
    let svc = w
        .service(Provider::LiveKit, &[("POLICY_JSON", policy.as_str())])
        .await;
    let ends = w.now() + 300;
    w.room(
        "livekit",
        "tour-rome",
        "ann",
        &["guide", "listener"],
        Some(ends),
    )
    .await;
    let lk = |jwt: &str, role: &str| {
        post(
            "/livekit/token",
            jwt,
            &json!({"room_name": "tour-rome", "role": role}),
        )
    };
    let (ann, bob) = (w.jwt("ann"), w.jwt("bob"));

    // Listeners only while the tour is active.
    assert_denied(
        &call(&svc, lk(&bob, "listener")).await,
        403,
        "room_not_live",
    );
    w.status("livekit", "tour-rome", RoomStatus::Live).await;
    // Both tokens end with the tour (300 s), below the 15 min default.
    assert_eq!(livekit_ttl(&call(&svc, lk(&ann, "guide")).await), 300);
    assert_eq!(livekit_ttl(&call(&svc, lk(&bob, "listener")).await), 300);
    // Listeners may not take the guide's (publishing) role.
    assert_denied(&call(&svc, lk(&bob, "guide")).await, 403, "not_owner");
    // After the tour, nobody.
    w.status("livekit", "tour-rome", RoomStatus::Ended).await;
    assert_denied(&call(&svc, lk(&ann, "guide")).await, 403, "room_not_live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_mid_stream_bites_on_the_next_refresh() {
    let w = world().await;
    let svc = w
        .service(Provider::Agora, &[("ACCESS_QUOTA_PER_MINUTE", "3")])
        .await;
    w.room("agora", "live-maya", "maya", &[], None).await;
    w.status("agora", "live-maya", RoomStatus::Live).await;
    let troll = w.jwt("troll");
    assert_agora_token(&agora(&svc, &troll, "live-maya", "subscriber").await);

    let here = BanScope::Room {
        provider: "agora".into(),
        room: "live-maya".into(),
    };
    w.store
        .ban(
            "troll",
            &here,
            None,
            Some("harassment report #4411"),
            w.now(),
        )
        .await
        .unwrap();
    let a = agora(&svc, &troll, "live-maya", "subscriber").await;
    assert_denied(&a, 403, "banned");
    let text = a.body.to_string();
    assert!(
        !text.contains("harassment") && !text.contains("4411"),
        "{text}"
    );

    // Lifted: back in, until the per-minute quota (3; denials do not count) runs out.
    w.store.unban("troll", &here).await.unwrap();
    assert_agora_token(&agora(&svc, &troll, "live-maya", "subscriber").await);
    assert_agora_token(&agora(&svc, &troll, "live-maya", "subscriber").await);
    let a = agora(&svc, &troll, "live-maya", "subscriber").await;
    assert_denied(&a, 429, "rate_limited");
    let retry: u64 = a.headers["retry-after"].parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_answers_503_with_retry_after() {
    let w = world().await;
    // A table that does not exist behaves like an unavailable store: fail closed.
    let svc = w
        .service(Provider::Agora, &[("ACCESS_TABLE", "no-such-table")])
        .await;
    let a = agora(&svc, &w.jwt("maya"), "live-maya", "publisher").await;
    assert_denied(&a, 503, "service_unavailable");
    assert!(a.headers.contains_key("retry-after"));
}
