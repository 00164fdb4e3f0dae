//! `rtc-token admin`: rooms, bans and quotas in the access-state table (`ACCESS_TABLE`).
//!
//! Uses the standard AWS configuration (environment, profile; `AWS_ENDPOINT_URL` points it at
//! `moto_server` or DynamoDB Local). Every command prints one JSON object on stdout.
//! Exit codes: 0 done, 1 the operation failed (no such room, room exists, AWS error), 2 usage.
//! The store operations live in `token_service::access`; this module only parses arguments.
//!
//! `ban --kick` / `unban --kick` then act at the providers ([`crate::kick`]): after the JSON object,
//! one JSON line per provider; exit code 1 if any provider failed (the ban is recorded regardless).

use clap::{Args, Subcommand};
use serde_json::json;
use token_service::access::{AccessStore, BanScope, RoomItem, RoomStatus, StoreError};

use crate::cli_util::now_unix;
use crate::kick::{self, KickArgs};

/// Arguments.
#[derive(Args, Debug)]
pub struct AdminArgs {
    /// The DynamoDB table.
    #[arg(long, env = "ACCESS_TABLE", global = true)]
    table: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create, start, end or show a room.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Ban a subject globally, or from one room with --provider and --room.
    Ban(BanArgs),
    /// Lift a ban (the same scope it was placed with).
    Unban(UnbanArgs),
    /// Show a subject's quota counter.
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Create the table (for moto / DynamoDB Local; in AWS the SAM template creates it).
    #[command(subcommand)]
    Table(TableCommand),
}

#[derive(Subcommand, Debug)]
enum TableCommand {
    /// Create the table with keys pk/sk and TTL on expires_at.
    Create,
}

#[derive(Args, Debug)]
struct RoomRef {
    /// agora, livekit or stream.
    #[arg(long, value_parser = ["agora", "livekit", "stream"])]
    provider: String,
    /// The room / channel / call id.
    #[arg(long)]
    room: String,
}

#[derive(Subcommand, Debug)]
enum RoomCommand {
    /// Create a room (status scheduled unless --live).
    Create(CreateArgs),
    /// Set the room live.
    Start(RoomRef),
    /// End the room: no new tokens for anyone.
    End(RoomRef),
    /// Print the room.
    Show(RoomRef),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    room: RoomRef,
    /// The owner's subject (the only publisher unless --publish-roles). Omit for no owner rule.
    #[arg(long)]
    owner: Option<String>,
    /// Roles admitted, comma-separated (default: every role).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Roles a non-owner may publish with, comma-separated (default: none).
    #[arg(long, value_delimiter = ',')]
    publish_roles: Vec<String>,
    /// Create the room already live.
    #[arg(long)]
    live: bool,
    /// Unix seconds after which the room is gone (tokens are capped to it).
    #[arg(long)]
    expires_at: Option<u64>,
}

#[derive(Args, Debug)]
struct BanArgs {
    /// The subject to ban.
    #[arg(long)]
    subject: String,
    /// With --room: ban from this room only.
    #[arg(long, requires = "room", value_parser = ["agora", "livekit", "stream"])]
    provider: Option<String>,
    /// With --provider: ban from this room only.
    #[arg(long, requires = "provider")]
    room: Option<String>,
    /// Unix seconds the ban ends (default: permanent).
    #[arg(long)]
    until: Option<u64>,
    /// A note for operators (stored, never shown to clients).
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    kick: KickArgs,
}

#[derive(Args, Debug)]
struct UnbanArgs {
    /// The subject.
    #[arg(long)]
    subject: String,
    /// With --room: the per-room ban.
    #[arg(long, requires = "room", value_parser = ["agora", "livekit", "stream"])]
    provider: Option<String>,
    /// With --provider: the per-room ban.
    #[arg(long, requires = "provider")]
    room: Option<String>,
    #[command(flatten)]
    kick: KickArgs,
}

#[derive(Subcommand, Debug)]
enum QuotaCommand {
    /// The current minute's counter.
    Show {
        /// The subject.
        #[arg(long)]
        subject: String,
    },
}

fn scope(provider: Option<String>, room: Option<String>) -> BanScope {
    match (provider, room) {
        (Some(provider), Some(room)) => BanScope::Room { provider, room },
        _ => BanScope::Global,
    }
}

fn room_json(r: &RoomItem) -> serde_json::Value {
    json!({
        "provider": r.provider,
        "room": r.room,
        "owner": r.owner,
        "status": r.status.as_str(),
        "roles": r.roles,
        "publish_roles": r.publish_roles,
        "expires_at": r.expires_at,
    })
}

async fn execute(store: &AccessStore, cmd: AdminCommand) -> Result<serde_json::Value, StoreError> {
    let now = now_unix();
    match cmd {
        AdminCommand::Room(RoomCommand::Create(a)) => {
            let item = RoomItem {
                provider: a.room.provider,
                room: a.room.room,
                owner: a.owner,
                status: if a.live {
                    RoomStatus::Live
                } else {
                    RoomStatus::Scheduled
                },
                roles: a.roles,
                publish_roles: a.publish_roles,
                expires_at: a.expires_at,
            };
            store.create_room(&item, now).await?;
            Ok(json!({"created": room_json(&item)}))
        }
        AdminCommand::Room(RoomCommand::Start(r)) => {
            store
                .set_room_status(&r.provider, &r.room, RoomStatus::Live, now)
                .await?;
            Ok(json!({"provider": r.provider, "room": r.room, "status": "live"}))
        }
        AdminCommand::Room(RoomCommand::End(r)) => {
            store
                .set_room_status(&r.provider, &r.room, RoomStatus::Ended, now)
                .await?;
            Ok(json!({"provider": r.provider, "room": r.room, "status": "ended"}))
        }
        AdminCommand::Room(RoomCommand::Show(r)) => {
            let item = store.get_room(&r.provider, &r.room).await?;
            Ok(room_json(&item))
        }
        AdminCommand::Ban(a) => {
            let sc = scope(a.provider, a.room);
            store
                .ban(&a.subject, &sc, a.until, a.note.as_deref(), now)
                .await?;
            Ok(json!({"banned": a.subject, "scope": scope_json(&sc), "until": a.until}))
        }
        AdminCommand::Unban(a) => {
            let sc = scope(a.provider, a.room);
            store.unban(&a.subject, &sc).await?;
            Ok(json!({"unbanned": a.subject, "scope": scope_json(&sc)}))
        }
        AdminCommand::Table(TableCommand::Create) => {
            store.create_table().await?;
            Ok(json!({"created_table": store.table()}))
        }
        AdminCommand::Quota(QuotaCommand::Show { subject }) => {
            let q = store.quota(&subject, now).await?;
            Ok(json!({
                "subject": subject,
                "window_start": q.window_start,
                "count": q.count,
                "resets_in": q.resets_in,
            }))
        }
    }
}

fn scope_json(s: &BanScope) -> serde_json::Value {
    match s {
        BanScope::Global => json!("global"),
        BanScope::Room { provider, room } => json!({"provider": provider, "room": room}),
    }
}

/// The provider step of `ban --kick` / `unban --kick`, taken out of the command before it runs.
struct KickJob {
    args: KickArgs,
    subject: String,
    scope: BanScope,
    until: Option<u64>,
    unban: bool,
}

fn kick_job(cmd: &mut AdminCommand) -> Option<KickJob> {
    let (args, subject, provider, room, until, unban) = match cmd {
        AdminCommand::Ban(a) if a.kick.kick => (
            &mut a.kick,
            &a.subject,
            &a.provider,
            &a.room,
            a.until,
            false,
        ),
        AdminCommand::Unban(a) if a.kick.kick => {
            (&mut a.kick, &a.subject, &a.provider, &a.room, None, true)
        }
        _ => return None,
    };
    Some(KickJob {
        args: std::mem::take(args),
        subject: subject.clone(),
        scope: scope(provider.clone(), room.clone()),
        until,
        unban,
    })
}

/// Runs the provider step; prints one line per provider; true if none failed.
async fn run_kick(job: &KickJob, bases: &kick::Bases) -> bool {
    let req = kick::Request {
        subject: &job.subject,
        scope: &job.scope,
        until: job.until,
        now: now_unix(),
        unban: job.unban,
    };
    let (lines, redact) = kick::run(&job.args, &req, bases).await;
    for l in &lines {
        println!("{}", l.to_json(&redact));
    }
    !lines.iter().any(|l| l.outcome.failed())
}

/// Runs the command; returns the process exit code.
pub fn run(mut args: AdminArgs) -> u8 {
    let Some(table) = args.table.filter(|t| !t.trim().is_empty()) else {
        eprintln!("rtc-token admin: set --table or ACCESS_TABLE");
        return 2;
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rtc-token admin: cannot start the runtime: {e}");
            return 1;
        }
    };
    let job = kick_job(&mut args.command);
    // Checked before the ban is recorded, so a bad override changes nothing.
    let bases = match kick::Bases::from_env(|k| std::env::var(k).ok()) {
        Ok(b) => b,
        Err(e) if job.is_some() => {
            eprintln!("rtc-token admin: {e}");
            return 2;
        }
        Err(_) => kick::Bases {
            stream: String::new(),
            agora: String::new(),
        },
    };
    let result = rt.block_on(async {
        let store = AccessStore::from_default_env(table).await;
        let v = execute(&store, args.command).await?;
        println!("{v}");
        Ok::<bool, StoreError>(match &job {
            Some(job) => run_kick(job, &bases).await,
            None => true,
        })
    });
    match result {
        Ok(true) => 0,
        Ok(false) => {
            eprintln!(
                "rtc-token admin: the ban is recorded, but a provider call failed (see its line)"
            );
            1
        }
        Err(StoreError::Invalid(msg)) => {
            eprintln!("rtc-token admin: {msg}");
            2
        }
        Err(e) => {
            eprintln!("rtc-token admin: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AdminArgs,
    }

    #[test]
    fn parses_room_create_with_roles() {
        let t = T::try_parse_from([
            "x",
            "--table",
            "t1",
            "room",
            "create",
            "--provider",
            "livekit",
            "--room",
            "tour-1",
            "--owner",
            "guide",
            "--roles",
            "guide,listener",
        ])
        .unwrap();
        assert_eq!(t.a.table.as_deref(), Some("t1"));
        match t.a.command {
            AdminCommand::Room(RoomCommand::Create(c)) => {
                assert_eq!(c.roles, vec!["guide", "listener"]);
                assert_eq!(c.owner.as_deref(), Some("guide"));
                assert!(!c.live);
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn room_ban_needs_both_provider_and_room() {
        assert!(T::try_parse_from(["x", "ban", "--subject", "u", "--room", "r"]).is_err());
        let t = T::try_parse_from([
            "x",
            "ban",
            "--subject",
            "u",
            "--provider",
            "agora",
            "--room",
            "r",
            "--until",
            "99",
        ])
        .unwrap();
        match t.a.command {
            AdminCommand::Ban(b) => {
                assert_eq!(
                    scope(b.provider, b.room),
                    BanScope::Room {
                        provider: "agora".into(),
                        room: "r".into()
                    }
                );
                assert_eq!(b.until, Some(99));
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn unknown_provider_is_a_usage_error() {
        assert!(
            T::try_parse_from(["x", "room", "show", "--provider", "zoom", "--room", "r"]).is_err()
        );
    }
}
