//! CONTRACT stub: replace with the real command.

/// Arguments.
#[derive(clap::Args)]
pub struct AdminArgs {}

/// Runs the command; returns the process exit code.
pub fn run(_args: AdminArgs) -> u8 {
    eprintln!("rtc-token: not implemented yet");
    2
}
