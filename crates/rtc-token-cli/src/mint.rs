//! CONTRACT stub: replace with the real mint commands.

#[derive(clap::Args)]
pub struct AgoraArgs {}
#[derive(clap::Args)]
pub struct LiveKitArgs {}
#[derive(clap::Args)]
pub struct StreamArgs {}

pub fn agora(_a: AgoraArgs) -> u8 {
    2
}
pub fn livekit(_a: LiveKitArgs) -> u8 {
    2
}
pub fn stream(_a: StreamArgs) -> u8 {
    2
}
