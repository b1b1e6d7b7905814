//! Small value parsers shared by suites, mock scripts and flags: durations (`800ms`, `30s`)
//! and rates (`5/s`, `60/m`). They return plain messages; callers attach the file and span.

use std::time::Duration;

/// FNV-1a, 64 bit: tiny, and unlike `DefaultHasher` guaranteed stable across Rust releases,
/// so what it decides (a CI partition, a seeded reply) is the same on every machine and run.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Every byte but RFC 3986's unreserved `A-Z a-z 0-9 - . _ ~`: what percent-encoding must
/// escape so a value can neither add a URL path segment nor hide a key from the redactor.
pub const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Parses `800ms`, `2s`, `1.5s`, `1m`, `30s`, and compounds of them as Go and OpenAI's
/// headers write them (`1m30s`, `1h0m0.5s`). A bare number is rejected on purpose:
/// `timeout: 30` is ambiguous between seconds and milliseconds, and a silent guess would hide
/// a mistake.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty duration: write e.g. `800ms` or `2s`".into());
    }
    let mut rest = t;
    let mut secs = 0.0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{t}` has no unit: write e.g. `{t}s` or `{t}ms`"))?;
        let (num, after) = rest.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("`{t}` is not a duration (e.g. `800ms`, `2s`, `1m`)"))?;
        // The unit: letters, after any spaces (`2 s`); the next part starts at a digit.
        let after = after.trim_start();
        let end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(end);
        secs += value
            * match unit.trim() {
                "ms" => 0.001,
                "s" | "sec" | "secs" => 1.0,
                "m" | "min" | "mins" => 60.0,
                "h" => 3600.0,
                other => {
                    return Err(format!(
                        "unknown duration unit `{other}` in `{t}`: use `ms`, `s`, `m` or `h`"
                    ))
                }
            };
        rest = next;
    }
    if !(0.0..=1.0e9).contains(&secs) {
        return Err(format!("`{t}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `5/s`, `0.5/s`, `60/m`, `100/min` into requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (num, unit) = t
        .split_once('/')
        .ok_or_else(|| format!("`{t}` is not a rate: write e.g. `5/s` or `60/m`"))?;
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{t}` is not a rate: write e.g. `5/s` or `60/m`"))?;
    let per = match unit.trim() {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit `{other}` in `{t}`: use `/s`, `/m` or `/h`"
            ))
        }
    };
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("`{t}`: a rate must be greater than zero"));
    }
    Ok(n / per)
}

/// Formats a duration for people: `850ms`, `1.25s`.
/// Whole milliseconds below a second are cut, not rounded, as the reports' `*_ms` fields are:
/// a message and the JSON beside it say the same number.
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// `took`, said so that it reads as more than `max` (which it is): with a tenth of a
/// millisecond when whole ones would print the two the same (500.4ms over 500ms).
pub fn human_excess(max: Duration, took: Duration) -> String {
    let said = human_duration(took);
    if said != human_duration(max) {
        return said;
    }
    match took < Duration::from_secs(1) {
        true => format!("{:.1}ms", took.as_secs_f64() * 1000.0),
        false => format!("{:.3}s", took.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_reads_as_the_reports_write_it() {
        assert_eq!(human_duration(Duration::from_micros(501_900)), "501ms");
        assert_eq!(human_duration(Duration::from_millis(1_500)), "1.50s");
        let max = Duration::from_millis(500);
        assert_eq!(human_excess(max, Duration::from_micros(500_400)), "500.4ms");
        assert_eq!(human_excess(max, Duration::from_micros(501_900)), "501ms");
        let max = Duration::from_secs(2);
        assert_eq!(
            human_excess(max, Duration::from_micros(2_001_000)),
            "2.001s"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("800ms").unwrap(), Duration::from_millis(800));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("").is_err());
        // Compounds, as Go and OpenAI's rate-limit headers write them.
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("1h0m0.5s").unwrap(),
            Duration::from_millis(3_600_500)
        );
        assert_eq!(
            parse_duration("2s 500ms").unwrap(),
            Duration::from_millis(2500)
        );
        assert!(parse_duration("1m30").unwrap_err().contains("no unit"));
        assert!(parse_duration("1m30parsecs")
            .unwrap_err()
            .contains("unknown duration unit `parsecs`"));
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("5/s").unwrap(), 5.0);
        assert_eq!(parse_rate("60/m").unwrap(), 1.0);
        assert!(parse_rate("5").is_err());
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("-1/s").is_err());
    }

    #[test]
    fn human() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_millis(1250)), "1.25s");
    }
}
