//! Differential: the signing crate's token-sized deflate must give stock zlib's bytes (level 6,
//! window 15) for every input it accepts, which is every input of 1 to 4096 bytes.
#![no_main]
#![forbid(unsafe_code)]

use flate2::{Compress, Compression, FlushCompress, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = rtc_signing::__fuzz::agora_deflate(data);
    assert_eq!(ours.is_some(), !data.is_empty() && data.len() <= 4096);
    let Some(ours) = ours else { return };
    let mut c = Compress::new(Compression::new(6), true);
    let mut stock = Vec::with_capacity(data.len() * 2 + 64);
    loop {
        let done = c.total_in() as usize;
        match c.compress_vec(&data[done..], &mut stock, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => break,
            Ok(_) => stock.reserve(stock.capacity().max(64)),
            Err(e) => panic!("stock zlib failed: {e}"),
        }
    }
    assert_eq!(ours, stock, "input of {} bytes", data.len());
});
