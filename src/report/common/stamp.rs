//! Wall-clock timestamps for reports, always in UTC so a report reads the same whatever the
//! machine's zone. Formatting never fails: a clock before 1970 or absurdly far ahead is
//! clamped rather than allowed to break the report.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

fn utc(t: SystemTime) -> OffsetDateTime {
    let nanos = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    i128::try_from(nanos)
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2024-05-01T12:34:56`: ISO 8601 without a zone designator (the value is UTC). This is the
/// form the Ant/Jenkins JUnit schemas give for `timestamp`, which some consumers enforce.
pub fn iso8601_no_zone(t: SystemTime) -> String {
    let d = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `2024-05-01T12:34:56.789Z`: RFC 3339 in UTC with milliseconds.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let d = utc(t);
    format!("{}.{:03}Z", iso8601_no_zone(t), d.millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_566_896_789);
        assert_eq!(iso8601_no_zone(t), "2024-05-01T12:34:56");
        assert_eq!(rfc3339_millis(t), "2024-05-01T12:34:56.789Z");
        assert_eq!(
            iso8601_no_zone(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00"
        );
    }
}
