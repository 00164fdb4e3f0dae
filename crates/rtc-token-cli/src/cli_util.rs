//! Small helpers shared by the mint and inspect commands: the clock, UTC formatting, output and
//! the one-line error convention (exit 2, nothing on stdout).

use serde_json::{json, Map, Value};

/// Exit code: success, or token valid / not checked.
pub const EXIT_OK: u8 = 0;
/// Exit code: token invalid (bad signature, malformed, expired).
pub const EXIT_INVALID: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_USAGE: u8 = 2;

/// The system clock in unix seconds (0 if the clock is before 1970): the project's one clock.
pub fn now_unix() -> u64 {
    caller_auth::Clock::now(&caller_auth::SystemClock)
}

/// Formats unix seconds as an RFC 3339 UTC timestamp (`1970-01-01T00:00:00Z`).
///
/// Uses Howard Hinnant's `civil_from_days`; valid for any `u64` that fits a year below 10^9.
pub fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 -> (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `{"unix": secs, "utc": "..."}`.
pub fn time_json(secs: u64) -> Value {
    json!({ "unix": secs, "utc": utc(secs) })
}

/// Prints a usage/input error as one line on stderr and returns [`EXIT_USAGE`].
pub fn usage_error(msg: impl std::fmt::Display) -> u8 {
    eprintln!("rtc-token: {}", one_line(&msg.to_string()));
    EXIT_USAGE
}

/// Collapses a message onto one line (no newline can split the error).
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A clap usage error as one line: its first paragraph without clap's `error: ` prefix (the usage
/// block and the `--help` hint that follow are dropped).
pub fn clap_error_line(e: &clap::Error) -> String {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a subcommand is required (see --help)".to_string();
    }
    first_paragraph(&e.render().to_string())
}

fn first_paragraph(rendered: &str) -> String {
    let first: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let text = one_line(&first.join(" "));
    let text = text.strip_prefix("error: ").unwrap_or(&text).to_string();
    format!("{text} (see --help)")
}

/// Prints a finished output (with a trailing newline) in one write; returns `code`.
pub fn emit(out: &str, code: u8) -> u8 {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let text = format!("{out}\n");
    if stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return EXIT_USAGE;
    }
    code
}

/// Pretty JSON text of a value (serialising a `Value` cannot fail; `{}` is a safe fallback).
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_string())
}

/// The issue time of a mint: `--issued-at` or the system clock.
pub fn issued_at(flag: Option<u64>) -> u64 {
    flag.unwrap_or_else(now_unix)
}

/// Decodes unpadded (or padded) base64url, as in JWT segments; `+` and `/` are read as `-` and `_`.
/// `None` on any invalid character.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::{alphabet, Engine as _};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let s = s.trim_end_matches('=').replace('+', "-").replace('/', "_");
    LENIENT.decode(s).ok()
}

/// A JWT segment (header or payload, named by `what` in the error) decoded as a JSON object.
pub fn jwt_json(segment: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = b64url_decode(segment).ok_or_else(|| format!("{what} is not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(format!("{what} is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(utc(4_294_967_295), "2106-02-07T06:28:15Z");
        assert_eq!(utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc(1_111_111), "1970-01-13T20:38:31Z");
    }

    #[test]
    fn civil_round_trips_every_day_for_a_millennium() {
        // Compare with a naive day-by-day walk of the calendar.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..366 * 1000 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn base64url() {
        assert_eq!(
            b64url_decode("eyJhbGciOiJIUzI1NiJ9").unwrap(),
            br#"{"alg":"HS256"}"#
        );
        assert_eq!(b64url_decode("_-8").unwrap(), [0xff, 0xef]);
        assert_eq!(b64url_decode("").unwrap(), b"");
        assert!(b64url_decode("a").is_none());
        assert!(b64url_decode("ab.c").is_none());
    }

    #[test]
    fn clap_errors_become_one_line() {
        let r = "error: the following required arguments were not provided:\n  --channel <CHANNEL>\n\nUsage: x\n\nFor more information, try '--help'.\n";
        assert_eq!(
            first_paragraph(r),
            "the following required arguments were not provided: --channel <CHANNEL> (see --help)"
        );
    }

    #[test]
    fn one_line_collapses_newlines() {
        assert_eq!(one_line("a\nb  c\n"), "a b c");
    }
}
