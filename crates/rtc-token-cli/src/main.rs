//! `rtc-token`: mint and inspect tokens, run the local server, administer access state.
//!
//! Exit codes: 0 success (or token valid / not checked), 1 token invalid or malformed, 2 usage or input
//! error (one line on stderr, nothing on stdout).
//!
//! Module ownership: `mint` (agora/livekit/stream commands), `inspect`, `serve` (the local host of the
//! shared handlers), `dev_jwt` (development caller tokens), `admin` (access-state administration).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod admin;
mod cli_util;
mod dev_defaults;
mod dev_jwt;
mod inspect;
mod kick;
mod mint;
mod serve;
mod serve_wiring;

/// mimalloc instead of glibc malloc: under load the local server spent a large share of its CPU in
/// glibc's malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rtc-token",
    version,
    about = "Agora, LiveKit and Stream tokens: mint, inspect, serve"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint an Agora AccessToken2 (RTC, RTM or Chat).
    Agora(mint::AgoraArgs),
    /// Mint a LiveKit access token.
    Livekit(mint::LiveKitArgs),
    /// Mint a Stream Chat or Video user token.
    Stream(mint::StreamArgs),
    /// Decode a token of any supported kind, and verify it when given the secret.
    Inspect(inspect::InspectArgs),
    /// Run the three token routes locally (same handlers as the Lambda functions).
    Serve(serve::ServeArgs),
    /// Mint a development caller JWT that `rtc-token serve` accepts on embedded defaults.
    DevJwt(dev_jwt::DevJwtArgs),
    /// Administer rooms, bans and quotas in the access-state table.
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Usage errors: one line on stderr, exit 2.
            eprintln!("rtc-token: {}", cli_util::clap_error_line(&e));
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help / --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let code = match cli.command {
        Command::Agora(a) => mint::agora(a),
        Command::Livekit(a) => mint::livekit(a),
        Command::Stream(a) => mint::stream(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Serve(a) => serve::run(a),
        Command::DevJwt(a) => dev_jwt::run(a),
        Command::Admin(a) => admin::run(a),
    };
    ExitCode::from(code)
}
