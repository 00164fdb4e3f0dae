//! The DynamoDB access checks with the real AWS SDK against `moto_server`.

mod access_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use access_common::{client, create_table, CallLog, Moto};
use token_service::access::{
    AccessChecker, AccessDecision, AccessError, AccessRequest, AccessStore, BanScope, DenyCode,
    DynamoRules, RoomItem, RoomStatus, StoreError,
};

const T0: u64 = 1_800_000_000; // a window start (divisible by 60)
const TABLE: &str = "rtc-access";

struct Env {
    _moto: Moto,
    store: AccessStore,
    log: CallLog,
}

async fn env() -> Env {
    env_with(Moto::start()).await
}

async fn env_with(moto: Moto) -> Env {
    let log = CallLog::default();
    let c = client(&moto.endpoint, &log);
    create_table(&c, TABLE).await;
    log.take();
    Env {
        store: AccessStore::new(c, TABLE),
        _moto: moto,
        log,
    }
}

fn rules(quota: u32, require_room: bool) -> DynamoRules {
    DynamoRules {
        quota_per_minute: quota,
        require_room,
        ..DynamoRules::default()
    }
}

fn room(provider: &str, name: &str, owner: Option<&str>, roles: &[&str]) -> RoomItem {
    RoomItem {
        provider: provider.into(),
        room: name.into(),
        owner: owner.map(str::to_owned),
        status: RoomStatus::Scheduled,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        publish_roles: vec![],
        expires_at: None,
    }
}

fn ask<'a>(subject: &'a str, room: &'a str, role: &'a str, publishing: bool) -> AccessRequest<'a> {
    AccessRequest::new("agora", subject, Some(room), role, T0 + 5).publishing(publishing)
}

const ALLOW: AccessDecision = AccessDecision::ALLOW;

fn deny(c: DenyCode) -> AccessDecision {
    AccessDecision::Deny(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_only_publishing_to_a_live_stream() {
    let e = env().await;
    let checker = AccessChecker::dynamo(e.store.clone(), rules(0, true));
    e.store
        .create_room(&room("agora", "show-1", Some("host"), &[]), T0)
        .await
        .unwrap();
    let host_pub = ask("host", "show-1", "publisher", true);
    let viewer = ask("viewer", "show-1", "subscriber", false);
    let viewer_pub = ask("viewer", "show-1", "publisher", true);

    // Scheduled: nobody publishes; viewers wait; the owner may prepare (subscribe).
    assert_eq!(
        checker.check(&host_pub).await.unwrap(),
        deny(DenyCode::RoomNotLive)
    );
    assert_eq!(
        checker.check(&viewer).await.unwrap(),
        deny(DenyCode::RoomNotLive)
    );
    assert_eq!(
        checker
            .check(&ask("host", "show-1", "subscriber", false))
            .await
            .unwrap(),
        ALLOW
    );

    e.store
        .set_room_status("agora", "show-1", RoomStatus::Live, T0)
        .await
        .unwrap();
    assert_eq!(checker.check(&host_pub).await.unwrap(), ALLOW);
    assert_eq!(checker.check(&viewer).await.unwrap(), ALLOW);
    assert_eq!(
        checker.check(&viewer_pub).await.unwrap(),
        deny(DenyCode::NotOwner)
    );
    // The refresh re-checks: still allowed while live.
    assert_eq!(checker.check(&host_pub).await.unwrap(), ALLOW);

    // Ended: no new tokens for anyone, owner included.
    e.store
        .set_room_status("agora", "show-1", RoomStatus::Ended, T0)
        .await
        .unwrap();
    assert_eq!(
        checker.check(&host_pub).await.unwrap(),
        deny(DenyCode::RoomNotLive)
    );
    assert_eq!(
        checker.check(&viewer).await.unwrap(),
        deny(DenyCode::RoomNotLive)
    );

    // A room that does not exist.
    assert_eq!(
        checker
            .check(&ask("host", "nope", "publisher", true))
            .await
            .unwrap(),
        deny(DenyCode::RoomNotFound)
    );
    // Without ACCESS_REQUIRE_ROOM a missing room has no room rules (bans and quota still apply).
    let lax = AccessChecker::dynamo(e.store.clone(), rules(0, false));
    assert_eq!(
        lax.check(&ask("host", "nope", "publisher", true))
            .await
            .unwrap(),
        ALLOW
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guide_and_listeners_on_an_active_tour() {
    let e = env().await;
    let checker = AccessChecker::dynamo(e.store.clone(), rules(0, true));
    let mut tour = room("livekit", "tour-7", Some("guide"), &["guide", "listener"]);
    tour.expires_at = Some(T0 + 3_600);
    e.store.create_room(&tour, T0).await.unwrap();
    let lk = |s: &'static str, role: &'static str, publishing: bool| {
        AccessRequest::new("livekit", s, Some("tour-7"), role, T0 + 5).publishing(publishing)
    };
    // Guests only while active.
    assert_eq!(
        checker.check(&lk("ann", "listener", false)).await.unwrap(),
        deny(DenyCode::RoomNotLive)
    );
    e.store
        .set_room_status("livekit", "tour-7", RoomStatus::Live, T0)
        .await
        .unwrap();
    let capped = AccessDecision::Allow {
        role: None,
        max_ttl: Some(3_595),
    };
    assert_eq!(
        checker.check(&lk("guide", "guide", true)).await.unwrap(),
        capped
    );
    assert_eq!(
        checker.check(&lk("ann", "listener", false)).await.unwrap(),
        capped
    );
    // Listeners only listen; a role the tour does not admit is refused.
    assert_eq!(
        checker.check(&lk("ann", "listener", true)).await.unwrap(),
        deny(DenyCode::NotOwner)
    );
    assert_eq!(
        checker.check(&lk("ann", "speaker", false)).await.unwrap(),
        deny(DenyCode::Denied)
    );
    // The same room name under another provider is another room.
    assert_eq!(
        checker
            .check(&AccessRequest::new(
                "agora",
                "ann",
                Some("tour-7"),
                "listener",
                T0
            ))
            .await
            .unwrap(),
        deny(DenyCode::RoomNotFound)
    );
    // Past its expiry the room is gone even before TTL deletion.
    assert_eq!(
        checker
            .check(&AccessRequest::new(
                "livekit",
                "ann",
                Some("tour-7"),
                "listener",
                T0 + 3_600
            ))
            .await
            .unwrap(),
        deny(DenyCode::RoomNotFound)
    );
    let shown = e.store.get_room("livekit", "tour-7").await.unwrap();
    assert_eq!(shown.status, RoomStatus::Live);
    assert_eq!(shown.roles, vec!["guide", "listener"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_placed_between_two_calls_denies_the_refresh() {
    let e = env().await;
    let checker = AccessChecker::dynamo(e.store.clone(), rules(0, false));
    let mut r = room("agora", "live-1", Some("host"), &[]);
    r.status = RoomStatus::Live;
    e.store.create_room(&r, T0).await.unwrap();
    let first = ask("troll", "live-1", "subscriber", false);
    assert_eq!(checker.check(&first).await.unwrap(), ALLOW);

    let here = BanScope::Room {
        provider: "agora".into(),
        room: "live-1".into(),
    };
    e.store
        .ban("troll", &here, None, Some("spam in chat"), T0)
        .await
        .unwrap();
    // The refresh.
    assert_eq!(checker.check(&first).await.unwrap(), deny(DenyCode::Banned));
    // A per-room ban does not reach other rooms.
    assert_eq!(
        checker
            .check(&ask("troll", "elsewhere", "subscriber", false))
            .await
            .unwrap(),
        ALLOW
    );

    // A global ban reaches every room and room-less (Stream user) tokens, owner or not.
    e.store
        .ban("host", &BanScope::Global, None, None, T0)
        .await
        .unwrap();
    assert_eq!(
        checker
            .check(&ask("host", "live-1", "publisher", true))
            .await
            .unwrap(),
        deny(DenyCode::Banned)
    );
    assert_eq!(
        checker
            .check(&AccessRequest::new("stream", "host", None, "user", T0))
            .await
            .unwrap(),
        deny(DenyCode::Banned)
    );
    e.store.unban("host", &BanScope::Global).await.unwrap();
    assert_eq!(
        checker
            .check(&ask("host", "live-1", "publisher", true))
            .await
            .unwrap(),
        ALLOW
    );

    // A timed ban ends by itself.
    e.store.unban("troll", &here).await.unwrap();
    e.store
        .ban("troll", &BanScope::Global, Some(T0 + 100), None, T0)
        .await
        .unwrap();
    assert_eq!(checker.check(&first).await.unwrap(), deny(DenyCode::Banned));
    let later = AccessRequest::new("agora", "troll", Some("live-1"), "subscriber", T0 + 100);
    assert_eq!(checker.check(&later).await.unwrap(), ALLOW);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_checks_with_a_quota_of_ten_give_exactly_ten() {
    // 50 concurrent clients; moto serializes them the way DynamoDB serializes conditional writes
    // to one item (the threaded moto_server does not, see `access_common::SERIAL_MOTO`).
    let e = env_with(Moto::start_serial()).await;
    let checker = Arc::new(AccessChecker::dynamo(
        e.store.clone(),
        DynamoRules {
            // The serial server queues the 50 requests: allow for the queue, not for DynamoDB.
            timeout: Duration::from_secs(10),
            ..rules(10, false)
        },
    ));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let c = checker.clone();
        tasks.push(tokio::spawn(async move {
            c.check(&AccessRequest::new("stream", "busy", None, "user", T0 + 42))
                .await
        }));
    }
    let (mut allowed, mut limited) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            AccessDecision::Allow { .. } => allowed += 1,
            AccessDecision::Quota { retry_after } => {
                assert_eq!(retry_after, 18, "seconds to the end of the minute window");
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((allowed, limited), (10, 40));
    let q = e.store.quota("busy", T0 + 42).await.unwrap();
    assert_eq!((q.window_start, q.count, q.resets_in), (T0, 10, 18));
    // Another subject has its own counter; the next window starts afresh.
    let other = AccessRequest::new("stream", "calm", None, "user", T0 + 42);
    assert_eq!(checker.check(&other).await.unwrap(), ALLOW);
    let next = AccessRequest::new("stream", "busy", None, "user", T0 + 60);
    assert_eq!(checker.check(&next).await.unwrap(), ALLOW);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_makes_at_most_two_dynamodb_calls() {
    let e = env().await;
    let checker = AccessChecker::dynamo(e.store.clone(), rules(1000, true));
    let mut r = room("agora", "c1", Some("host"), &[]);
    r.status = RoomStatus::Live;
    e.store.create_room(&r, T0).await.unwrap();
    e.store
        .ban("bad", &BanScope::Global, None, None, T0)
        .await
        .unwrap();
    e.log.take();

    let cases: [(AccessRequest<'_>, AccessDecision, &[&str]); 4] = [
        (
            ask("host", "c1", "publisher", true),
            ALLOW,
            &["BatchGetItem", "UpdateItem"],
        ),
        (
            ask("bad", "c1", "publisher", true),
            deny(DenyCode::Banned),
            &["BatchGetItem"],
        ),
        (
            ask("v", "c1", "publisher", true),
            deny(DenyCode::NotOwner),
            &["BatchGetItem"],
        ),
        (
            AccessRequest::new("stream", "v", None, "user", T0),
            ALLOW,
            &["BatchGetItem", "UpdateItem"],
        ),
    ];
    let mut total = Duration::ZERO;
    let n = 20;
    for (req, want, calls) in &cases {
        for _ in 0..n {
            let t = Instant::now();
            assert_eq!(&checker.check(req).await.unwrap(), want);
            total += t.elapsed();
            assert_eq!(&e.log.take(), calls);
        }
    }
    // Quota off: one call.
    let no_quota = AccessChecker::dynamo(e.store.clone(), rules(0, true));
    assert_eq!(
        no_quota
            .check(&ask("host", "c1", "publisher", true))
            .await
            .unwrap(),
        ALLOW
    );
    assert_eq!(e.log.take(), ["BatchGetItem"]);
    eprintln!(
        "measured: mean check latency against moto_server on loopback: {:?} over {} checks",
        total / (n * cases.len() as u32),
        n * cases.len() as u32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_operations_report_their_errors() {
    let e = env().await;
    let r = room("stream", "call-1", Some("a"), &["host", "guest"]);
    e.store.create_room(&r, T0).await.unwrap();
    assert!(matches!(
        e.store.create_room(&r, T0).await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        e.store
            .set_room_status("stream", "nope", RoomStatus::Live, T0)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        e.store.get_room("stream", "nope").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        e.store.get_room("zoom", "call-1").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        e.store
            .ban("a", &BanScope::Global, Some(T0 - 1), None, T0)
            .await,
        Err(StoreError::Invalid(_))
    ));
    // Unban of nothing is fine; quota of an idle subject is zero.
    e.store.unban("nobody", &BanScope::Global).await.unwrap();
    assert_eq!(e.store.quota("nobody", T0 + 1).await.unwrap().count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_builds_the_dynamodb_checker() {
    let e = env().await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&e._moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .load()
        .await;
    let vars = |k: &str| match k {
        "ACCESS_TABLE" => Some(TABLE.to_owned()),
        "ACCESS_QUOTA_PER_MINUTE" => Some("1".to_owned()),
        "ACCESS_REQUIRE_ROOM" => Some("true".to_owned()),
        _ => None,
    };
    let aws = token_service::aws::Aws::from_sdk_config(sdk);
    let secrets = token_service::secrets::StaticSource::new();
    let checker = AccessChecker::from_env_with_secrets(&vars, &aws, &secrets)
        .await
        .unwrap();
    assert!(checker.is_enabled());
    assert_eq!(
        checker
            .check(&ask("u", "missing", "subscriber", false))
            .await
            .unwrap(),
        deny(DenyCode::RoomNotFound)
    );
    let stream = AccessRequest::new("stream", "u", None, "user", T0);
    assert_eq!(checker.check(&stream).await.unwrap(), ALLOW);
    assert!(matches!(
        checker.check(&stream).await.unwrap(),
        AccessDecision::Quota { .. }
    ));

    let both = |k: &str| match k {
        "ACCESS_TABLE" | "AUTHZ_WEBHOOK_URL" => Some("x".to_owned()),
        _ => None,
    };
    assert!(AccessChecker::from_env_with_secrets(&both, &aws, &secrets)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_is_an_error_not_an_allow() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = CallLog::default();
    let c = client(&format!("http://127.0.0.1:{port}"), &log);
    let checker = AccessChecker::dynamo(
        AccessStore::new(c, TABLE),
        DynamoRules {
            timeout: Duration::from_millis(300),
            ..rules(10, true)
        },
    );
    let err = checker
        .check(&ask("u", "r", "subscriber", false))
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::Store(_)), "{err:?}");
    assert!(err.retry_after() >= 1);
}
