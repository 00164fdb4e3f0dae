//! Access state in one DynamoDB table (keys `pk`/`sk`, both strings; TTL attribute `expires_at`).
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | room | `ROOM#<provider>#<room>` | `META` | `owner`?, `status` (`scheduled`/`live`/`ended`), `roles` (list), `publish_roles` (list), `expires_at`? |
//! | ban | `BAN#<subject>` | `GLOBAL` or `ROOM#<provider>#<room>` | `until`? (unix s; absent = permanent), `expires_at`? |
//! | quota | `QUOTA#<subject>` | window start (unix s, decimal) | `n` (count), `expires_at` |
//!
//! The hot path makes at most two calls: one consistent `BatchGetItem` (global ban, room ban, room)
//! and, when the request passes, one conditional `UpdateItem` on the caller's quota counter.
//! The administration operations (`rtc-token admin`) are the other methods of [`AccessStore`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use aws_sdk_dynamodb::Client;

use super::{parse_bool, parse_timeout_ms, parse_u64, AccessConfigError};
use super::{AccessDecision, AccessError};
use super::{AccessRequest, DenyCode};

/// The quota window length in seconds (fixed windows aligned to the minute).
pub const QUOTA_WINDOW_SECS: u64 = 60;
/// The sort key of a room item.
pub const ROOM_SK: &str = "META";
/// The sort key of a global ban.
pub const GLOBAL_BAN_SK: &str = "GLOBAL";

/// The live-check rules that come from configuration (per-room rules live in the room item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoRules {
    /// Tokens per subject per minute; 0 turns the quota off (`ACCESS_QUOTA_PER_MINUTE`, default 0).
    pub quota_per_minute: u32,
    /// A room-scoped token needs an existing room item (`ACCESS_REQUIRE_ROOM`, default false).
    pub require_room: bool,
    /// Time budget for the DynamoDB calls of one check (`ACCESS_TIMEOUT_MS`, default 1500).
    pub timeout: Duration,
}

impl Default for DynamoRules {
    fn default() -> Self {
        DynamoRules {
            quota_per_minute: 0,
            require_room: false,
            timeout: Duration::from_millis(1500),
        }
    }
}

impl DynamoRules {
    /// Reads `ACCESS_QUOTA_PER_MINUTE`, `ACCESS_REQUIRE_ROOM`, `ACCESS_TIMEOUT_MS`.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, AccessConfigError> {
        let mut rules = DynamoRules::default();
        if let Some(v) = get("ACCESS_QUOTA_PER_MINUTE") {
            let n = parse_u64("ACCESS_QUOTA_PER_MINUTE", &v)?;
            rules.quota_per_minute = u32::try_from(n).map_err(|_| AccessConfigError::Invalid {
                name: "ACCESS_QUOTA_PER_MINUTE",
                reason: "too large".into(),
            })?;
        }
        if let Some(v) = get("ACCESS_REQUIRE_ROOM") {
            rules.require_room = parse_bool("ACCESS_REQUIRE_ROOM", &v)?;
        }
        if let Some(v) = get("ACCESS_TIMEOUT_MS") {
            rules.timeout = parse_timeout_ms("ACCESS_TIMEOUT_MS", &v)?;
        }
        Ok(rules)
    }
}

/// A room's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomStatus {
    /// Created, not started: only the owner may join, and not to publish.
    Scheduled,
    /// Started: admitted roles may join; the owner (and `publish_roles`) may publish.
    Live,
    /// Over: no new tokens for anyone.
    Ended,
}

impl RoomStatus {
    /// The stored string.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Scheduled => "scheduled",
            RoomStatus::Live => "live",
            RoomStatus::Ended => "ended",
        }
    }

    /// Parses the stored string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "scheduled" => Some(RoomStatus::Scheduled),
            "live" => Some(RoomStatus::Live),
            "ended" => Some(RoomStatus::Ended),
            _ => None,
        }
    }
}

/// A room item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomItem {
    /// `agora`, `livekit` or `stream`.
    pub provider: String,
    /// The room / channel / call id.
    pub room: String,
    /// The owner's subject; `None` means no owner rule (any admitted publisher role may publish).
    pub owner: Option<String>,
    /// Lifecycle state.
    pub status: RoomStatus,
    /// Roles admitted at all; empty admits every role.
    pub roles: Vec<String>,
    /// Roles a non-owner may publish with (e.g. `guest` on a call); empty means owner only.
    pub publish_roles: Vec<String>,
    /// Unix seconds after which the room is gone (also the table TTL).
    pub expires_at: Option<u64>,
}

/// A ban item (what the hot path needs of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    /// Unix seconds the ban ends; `None` is permanent.
    pub until: Option<u64>,
}

impl Ban {
    /// Whether the ban holds at `now`.
    pub fn active(&self, now: u64) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// Where a ban applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanScope {
    /// Every provider and room.
    Global,
    /// One room of one provider.
    Room {
        /// Provider.
        provider: String,
        /// Room.
        room: String,
    },
}

impl BanScope {
    fn sk(&self) -> String {
        match self {
            BanScope::Global => GLOBAL_BAN_SK.to_owned(),
            BanScope::Room { provider, room } => room_ban_sk(provider, room),
        }
    }
}

/// A quota counter as read by `rtc-token admin quota show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    /// Window start (unix s).
    pub window_start: u64,
    /// Tokens minted in the window.
    pub count: u64,
    /// Seconds left in the window.
    pub resets_in: u64,
}

/// Errors of the administration operations.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The room does not exist.
    #[error("no such room")]
    NotFound,
    /// The room (or the table) exists already.
    #[error("it exists already")]
    AlreadyExists,
    /// An argument is invalid.
    #[error("{0}")]
    Invalid(String),
    /// DynamoDB failed.
    #[error("dynamodb: {0}")]
    Aws(String),
}

/// The partition key of a room.
pub fn room_pk(provider: &str, room: &str) -> String {
    format!("ROOM#{provider}#{room}")
}

/// The partition key of a subject's bans.
pub fn ban_pk(subject: &str) -> String {
    format!("BAN#{subject}")
}

/// The sort key of a per-room ban.
pub fn room_ban_sk(provider: &str, room: &str) -> String {
    format!("ROOM#{provider}#{room}")
}

/// The partition key of a subject's quota counters.
pub fn quota_pk(subject: &str) -> String {
    format!("QUOTA#{subject}")
}

/// The start of the quota window holding `now`.
pub fn window_start(now: u64) -> u64 {
    now - now % QUOTA_WINDOW_SECS
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn list(v: &[String]) -> AttributeValue {
    AttributeValue::L(v.iter().map(|x| s(x)).collect())
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn get_list(item: &HashMap<String, AttributeValue>, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        Some(AttributeValue::Ss(l)) => l.clone(),
        _ => Vec::new(),
    }
}

fn parse_room(item: &HashMap<String, AttributeValue>) -> Option<RoomItem> {
    Some(RoomItem {
        provider: get_s(item, "provider")?.to_owned(),
        room: get_s(item, "room")?.to_owned(),
        owner: get_s(item, "owner").map(str::to_owned),
        // An unreadable status is treated as ended: fail closed.
        status: get_s(item, "status")
            .and_then(RoomStatus::parse)
            .unwrap_or(RoomStatus::Ended),
        roles: get_list(item, "roles"),
        publish_roles: get_list(item, "publish_roles"),
        expires_at: get_n(item, "expires_at"),
    })
}

/// Whether a conditional write was refused because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

fn aws_err<E>(e: SdkError<E>) -> String
where
    E: std::error::Error + 'static,
{
    DisplayErrorContext(&e).to_string()
}

/// The rules, as a pure function of what the batch read returned. `Ok` carries a lifetime cap.
pub fn evaluate(
    rules: &DynamoRules,
    req: &AccessRequest<'_>,
    global_ban: Option<Ban>,
    room_ban: Option<Ban>,
    room: Option<&RoomItem>,
) -> Result<Option<u32>, DenyCode> {
    // 1. Bans first, on every mint (refreshes included).
    if global_ban.is_some_and(|b| b.active(req.now)) || room_ban.is_some_and(|b| b.active(req.now))
    {
        return Err(DenyCode::Banned);
    }
    let Some(_) = req.room else {
        return Ok(None);
    };
    // An item past its expiry is gone (TTL deletion is lazy).
    let room = room.filter(|r| r.expires_at.is_none_or(|e| req.now < e));
    let Some(room) = room else {
        return if rules.require_room {
            Err(DenyCode::RoomNotFound)
        } else {
            Ok(None)
        };
    };
    // 2. Ended rooms admit nobody.
    if room.status == RoomStatus::Ended {
        return Err(DenyCode::RoomNotLive);
    }
    // 3. Admitted roles.
    if !room.roles.is_empty() && !room.roles.iter().any(|r| r == req.role) {
        return Err(DenyCode::Denied);
    }
    let is_owner = room.owner.as_deref() == Some(req.subject);
    if req.publishing {
        // 4. Publisher must be the owner (unless the room has no owner, or admits this role to publish).
        let may_publish =
            room.owner.is_none() || is_owner || room.publish_roles.iter().any(|r| r == req.role);
        if !may_publish {
            return Err(DenyCode::NotOwner);
        }
        // 5. Publishing needs the room live.
        if room.status != RoomStatus::Live {
            return Err(DenyCode::RoomNotLive);
        }
    } else if !is_owner && room.status != RoomStatus::Live {
        // 6. Guests only while active (the owner may prepare in a scheduled room).
        return Err(DenyCode::RoomNotLive);
    }
    // A token does not outlive its room.
    let cap = room
        .expires_at
        .map(|e| u32::try_from(e.saturating_sub(req.now)).unwrap_or(u32::MAX));
    Ok(cap)
}

/// The table client: the hot-path reads and the administration writes.
#[derive(Clone, Debug)]
pub struct AccessStore {
    client: Client,
    table: String,
}

impl AccessStore {
    /// Wraps a client for `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        AccessStore {
            client,
            table: table.into(),
        }
    }

    /// Loads the standard AWS configuration (environment, profile, `AWS_ENDPOINT_URL`) and wraps
    /// a client for `table`. For `rtc-token admin`.
    pub async fn from_default_env(table: impl Into<String>) -> Self {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        AccessStore::new(Client::new(&sdk), table)
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One consistent `BatchGetItem`: (global ban, room ban, room). Retries unprocessed keys once.
    pub async fn read_state(
        &self,
        provider: &str,
        subject: &str,
        room: Option<&str>,
    ) -> Result<(Option<Ban>, Option<Ban>, Option<RoomItem>), AccessError> {
        let mut keys = vec![key(ban_pk(subject), GLOBAL_BAN_SK.to_owned())];
        if let Some(r) = room {
            keys.push(key(ban_pk(subject), room_ban_sk(provider, r)));
            keys.push(key(room_pk(provider, r), ROOM_SK.to_owned()));
        }
        let mut items: Vec<HashMap<String, AttributeValue>> = Vec::with_capacity(3);
        let mut pending = keys;
        for _attempt in 0..2 {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| AccessError::Store(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ka)
                .send()
                .await
                .map_err(|e| AccessError::Store(aws_err(e)))?;
            if let Some(mut resp) = out.responses {
                if let Some(got) = resp.remove(&self.table) {
                    items.extend(got);
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|ka| ka.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(AccessError::Store("unprocessed keys after retry".into()));
        }
        let (mut global, mut room_ban, mut room_item) = (None, None, None);
        let room_sk = room.map(|r| room_ban_sk(provider, r));
        for item in &items {
            let (Some(pk), Some(sk)) = (get_s(item, "pk"), get_s(item, "sk")) else {
                continue;
            };
            if pk.starts_with("BAN#") {
                let ban = Ban {
                    until: get_n(item, "until"),
                };
                if sk == GLOBAL_BAN_SK {
                    global = Some(ban);
                } else if Some(sk) == room_sk.as_deref() {
                    room_ban = Some(ban);
                }
            } else if pk.starts_with("ROOM#") {
                // A malformed room item is treated as an ended room (fail closed).
                room_item = Some(parse_room(item).unwrap_or(RoomItem {
                    provider: provider.to_owned(),
                    room: room.unwrap_or_default().to_owned(),
                    owner: None,
                    status: RoomStatus::Ended,
                    roles: Vec::new(),
                    publish_roles: Vec::new(),
                    expires_at: None,
                }));
            }
        }
        Ok((global, room_ban, room_item))
    }

    /// One conditional atomic `UpdateItem`: count a mint in the caller's window unless it is full.
    /// `Ok(None)` counted; `Ok(Some(retry_after))` the window is full.
    pub async fn take_quota(
        &self,
        subject: &str,
        now: u64,
        limit: u32,
    ) -> Result<Option<u64>, AccessError> {
        let start = window_start(now);
        let end = start + QUOTA_WINDOW_SECS;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(quota_pk(subject), start.to_string())))
            .update_expression("SET #e = :exp ADD #n :one")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#e", "expires_at")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(u64::from(limit)))
            .expression_attribute_values(":exp", n(end + QUOTA_WINDOW_SECS))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match res {
            Ok(_) => Ok(None),
            Err(e) if condition_failed(&e) => Ok(Some(end.saturating_sub(now).max(1))),
            Err(e) => Err(AccessError::Store(aws_err(e))),
        }
    }

    /// Creates the table as the SAM template does (`pk`/`sk` strings, on-demand billing) and turns
    /// on TTL on `expires_at`. For local development against moto or DynamoDB Local.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)
        };
        let key_el = |name: &str, kt: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kt)
                .build()
                .map_err(invalid)
        };
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key_el("pk", KeyType::Hash)?)
            .key_schema(key_el("sk", KeyType::Range)?)
            .send()
            .await;
        match res {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) =>
            {
                return Err(StoreError::AlreadyExists)
            }
            Err(e) => return Err(StoreError::Aws(aws_err(e))),
        }
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("expires_at")
            .build()
            .map_err(invalid)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| StoreError::Aws(aws_err(e)))?;
        Ok(())
    }

    /// Creates a room (fails if it exists).
    pub async fn create_room(&self, room: &RoomItem, now: u64) -> Result<(), StoreError> {
        validate_room_ids(&room.provider, &room.room)?;
        let mut item = key(room_pk(&room.provider, &room.room), ROOM_SK.to_owned());
        item.insert("provider".into(), s(&room.provider));
        item.insert("room".into(), s(&room.room));
        item.insert("status".into(), s(room.status.as_str()));
        item.insert("roles".into(), list(&room.roles));
        item.insert("publish_roles".into(), list(&room.publish_roles));
        item.insert("created_at".into(), n(now));
        item.insert("updated_at".into(), n(now));
        if let Some(o) = &room.owner {
            item.insert("owner".into(), s(o));
        }
        if let Some(e) = room.expires_at {
            item.insert("expires_at".into(), n(e));
        }
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(StoreError::Aws(aws_err(e))),
        }
    }

    /// Sets a room's status (fails if the room does not exist).
    pub async fn set_room_status(
        &self,
        provider: &str,
        room: &str,
        status: RoomStatus,
        now: u64,
    ) -> Result<(), StoreError> {
        validate_room_ids(provider, room)?;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(room_pk(provider, room), ROOM_SK.to_owned())))
            .update_expression("SET #s = :s, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::Aws(aws_err(e))),
        }
    }

    /// Reads a room.
    pub async fn get_room(&self, provider: &str, room: &str) -> Result<RoomItem, StoreError> {
        validate_room_ids(provider, room)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(room_pk(provider, room), ROOM_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Aws(aws_err(e)))?;
        let item = out.item.ok_or(StoreError::NotFound)?;
        parse_room(&item).ok_or_else(|| StoreError::Invalid("malformed room item".into()))
    }

    /// Bans a subject, globally or from one room, until `until` (unix s) or forever.
    /// An optional `note` is stored for operators and never returned to clients.
    pub async fn ban(
        &self,
        subject: &str,
        scope: &BanScope,
        until: Option<u64>,
        note: Option<&str>,
        now: u64,
    ) -> Result<(), StoreError> {
        validate_subject(subject)?;
        if let BanScope::Room { provider, room } = scope {
            validate_room_ids(provider, room)?;
        }
        if until.is_some_and(|u| u <= now) {
            return Err(StoreError::Invalid("--until is in the past".into()));
        }
        let mut item = key(ban_pk(subject), scope.sk());
        item.insert("created_at".into(), n(now));
        if let Some(u) = until {
            item.insert("until".into(), n(u));
            item.insert("expires_at".into(), n(u));
        }
        if let Some(note) = note {
            item.insert("note".into(), s(note));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::Aws(aws_err(e)))?;
        Ok(())
    }

    /// Lifts a ban (idempotent).
    pub async fn unban(&self, subject: &str, scope: &BanScope) -> Result<(), StoreError> {
        validate_subject(subject)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(ban_pk(subject), scope.sk())))
            .send()
            .await
            .map_err(|e| StoreError::Aws(aws_err(e)))?;
        Ok(())
    }

    /// Reads the caller's current quota window (count 0 when nothing was minted).
    pub async fn quota(&self, subject: &str, now: u64) -> Result<QuotaWindow, StoreError> {
        validate_subject(subject)?;
        let start = window_start(now);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(quota_pk(subject), start.to_string())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::Aws(aws_err(e)))?;
        let count = out.item.as_ref().and_then(|i| get_n(i, "n")).unwrap_or(0);
        Ok(QuotaWindow {
            window_start: start,
            count,
            resets_in: start + QUOTA_WINDOW_SECS - now,
        })
    }
}

fn validate_subject(subject: &str) -> Result<(), StoreError> {
    if subject.is_empty() || subject.len() > 512 {
        return Err(StoreError::Invalid("subject must be 1..=512 bytes".into()));
    }
    Ok(())
}

fn validate_room_ids(provider: &str, room: &str) -> Result<(), StoreError> {
    if !matches!(provider, "agora" | "livekit" | "stream") {
        return Err(StoreError::Invalid(
            "provider must be agora, livekit or stream".into(),
        ));
    }
    if room.is_empty() || room.len() > 512 {
        return Err(StoreError::Invalid("room must be 1..=512 bytes".into()));
    }
    Ok(())
}

/// The DynamoDB back end of [`super::AccessChecker`].
#[derive(Debug)]
pub(crate) struct DynamoChecker {
    store: AccessStore,
    rules: DynamoRules,
}

impl DynamoChecker {
    pub(crate) fn new(store: AccessStore, rules: DynamoRules) -> Self {
        DynamoChecker { store, rules }
    }

    pub(crate) async fn check(
        &self,
        req: &AccessRequest<'_>,
    ) -> Result<AccessDecision, AccessError> {
        match tokio::time::timeout(self.rules.timeout, self.check_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(AccessError::Store("timed out".into())),
        }
    }

    async fn check_inner(&self, req: &AccessRequest<'_>) -> Result<AccessDecision, AccessError> {
        let (global, room_ban, room) = self
            .store
            .read_state(req.provider, req.subject, req.room)
            .await?;
        let max_ttl = match evaluate(&self.rules, req, global, room_ban, room.as_ref()) {
            Ok(cap) => cap,
            Err(code) => return Ok(AccessDecision::Deny(code)),
        };
        if self.rules.quota_per_minute > 0 {
            if let Some(retry_after) = self
                .store
                .take_quota(req.subject, req.now, self.rules.quota_per_minute)
                .await?
            {
                return Ok(AccessDecision::Quota { retry_after });
            }
        }
        Ok(AccessDecision::Allow {
            role: None,
            max_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(owner: Option<&str>, status: RoomStatus) -> RoomItem {
        RoomItem {
            provider: "agora".into(),
            room: "r1".into(),
            owner: owner.map(str::to_owned),
            status,
            roles: vec![],
            publish_roles: vec![],
            expires_at: None,
        }
    }

    /// `evaluate` with no bans, in room r1 owned by `owner`.
    fn in_room(
        r: &AccessRequest<'_>,
        owner: &str,
        status: RoomStatus,
    ) -> Result<Option<u32>, DenyCode> {
        evaluate(&R, r, None, None, Some(&room(Some(owner), status)))
    }

    fn req<'a>(subject: &'a str, role: &'a str, publishing: bool) -> AccessRequest<'a> {
        AccessRequest::new("agora", subject, Some("r1"), role, 1_000).publishing(publishing)
    }

    const R: DynamoRules = DynamoRules {
        quota_per_minute: 0,
        require_room: false,
        timeout: Duration::from_millis(1500),
    };

    #[test]
    fn bans_come_first_and_expire() {
        let live = room(Some("host"), RoomStatus::Live);
        let r = req("host", "publisher", true);
        let perm = Some(Ban { until: None });
        assert_eq!(
            evaluate(&R, &r, perm, None, Some(&live)),
            Err(DenyCode::Banned)
        );
        assert_eq!(
            evaluate(&R, &r, None, perm, Some(&live)),
            Err(DenyCode::Banned)
        );
        let past = Some(Ban { until: Some(1_000) });
        assert_eq!(evaluate(&R, &r, past, None, Some(&live)), Ok(None));
        let future = Some(Ban { until: Some(1_001) });
        assert_eq!(
            evaluate(&R, &r, future, None, Some(&live)),
            Err(DenyCode::Banned)
        );
        // Bans bite even without a room.
        let no_room = AccessRequest::new("stream", "host", None, "user", 1_000);
        assert_eq!(
            evaluate(&R, &no_room, perm, None, None),
            Err(DenyCode::Banned)
        );
    }

    #[test]
    fn owner_publishing_needs_live() {
        let r = req("host", "publisher", true);
        assert_eq!(in_room(&r, "host", RoomStatus::Live), Ok(None));
        assert_eq!(
            in_room(&r, "host", RoomStatus::Scheduled),
            Err(DenyCode::RoomNotLive)
        );
        assert_eq!(
            in_room(&r, "host", RoomStatus::Ended),
            Err(DenyCode::RoomNotLive)
        );
        let other = req("mallory", "publisher", true);
        assert_eq!(
            in_room(&other, "host", RoomStatus::Live),
            Err(DenyCode::NotOwner)
        );
    }

    #[test]
    fn guests_only_while_live_and_owner_may_prepare() {
        let guest = req("g", "subscriber", false);
        assert_eq!(in_room(&guest, "h", RoomStatus::Live), Ok(None));
        assert_eq!(
            in_room(&guest, "h", RoomStatus::Scheduled),
            Err(DenyCode::RoomNotLive)
        );
        let owner = req("h", "subscriber", false);
        assert_eq!(in_room(&owner, "h", RoomStatus::Scheduled), Ok(None));
    }

    #[test]
    fn admitted_roles_and_publish_roles() {
        let mut call = room(Some("h"), RoomStatus::Live);
        call.roles = vec!["host".into(), "guest".into()];
        assert_eq!(
            evaluate(&R, &req("x", "listener", false), None, None, Some(&call)),
            Err(DenyCode::Denied)
        );
        assert_eq!(
            evaluate(&R, &req("x", "guest", true), None, None, Some(&call)),
            Err(DenyCode::NotOwner)
        );
        call.publish_roles = vec!["guest".into()];
        assert_eq!(
            evaluate(&R, &req("x", "guest", true), None, None, Some(&call)),
            Ok(None)
        );
        // Ownerless rooms have no owner rule.
        let open = room(None, RoomStatus::Live);
        assert_eq!(
            evaluate(&R, &req("x", "publisher", true), None, None, Some(&open)),
            Ok(None)
        );
    }

    #[test]
    fn missing_and_expired_rooms() {
        let r = req("x", "publisher", true);
        assert_eq!(evaluate(&R, &r, None, None, None), Ok(None));
        let strict = DynamoRules {
            require_room: true,
            ..R
        };
        assert_eq!(
            evaluate(&strict, &r, None, None, None),
            Err(DenyCode::RoomNotFound)
        );
        let mut expiring = room(None, RoomStatus::Live);
        expiring.expires_at = Some(1_300);
        assert_eq!(
            evaluate(&strict, &r, None, None, Some(&expiring)),
            Ok(Some(300))
        );
        expiring.expires_at = Some(1_000);
        assert_eq!(
            evaluate(&strict, &r, None, None, Some(&expiring)),
            Err(DenyCode::RoomNotFound)
        );
    }

    #[test]
    fn keys_do_not_collide() {
        // Providers come from a fixed set without '#', so `ROOM#<provider>#<room>` is injective.
        assert!(validate_room_ids("agora#a", "b").is_err());
        assert_ne!(room_pk("agora", "a"), room_pk("livekit", "a"));
        assert_ne!(ban_pk("a"), quota_pk("a"));
        assert_eq!(window_start(119), 60);
        assert_eq!(window_start(120), 120);
    }

    #[test]
    fn rules_from_env() {
        let env = |k: &str| match k {
            "ACCESS_QUOTA_PER_MINUTE" => Some("10".to_owned()),
            "ACCESS_REQUIRE_ROOM" => Some("true".to_owned()),
            _ => None,
        };
        let r = DynamoRules::from_env(&env).unwrap();
        assert_eq!(r.quota_per_minute, 10);
        assert!(r.require_room);
        let bad = |k: &str| (k == "ACCESS_TIMEOUT_MS").then(|| "5".to_owned());
        assert!(DynamoRules::from_env(&bad).is_err());
    }
}
