//! CONTRACT stub: replace with the real command.

/// Arguments.
#[derive(clap::Args)]
pub struct ServeArgs {}

/// Runs the command; returns the process exit code.
pub fn run(_args: ServeArgs) -> u8 {
    eprintln!("rtc-token: not implemented yet");
    2
}
