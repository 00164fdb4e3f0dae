//! CONTRACT stub: replace with the real command.

/// Arguments.
#[derive(clap::Args)]
pub struct DevJwtArgs {}

/// Runs the command; returns the process exit code.
pub fn run(_args: DevJwtArgs) -> u8 {
    eprintln!("rtc-token: not implemented yet");
    2
}
