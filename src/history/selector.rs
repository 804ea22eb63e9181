//! How `diff --from/--to` name a stored scan: its ID, or a time (UTC) — in the form
//! `certaudit history` prints it, RFC 3339, or a bare date — meaning the last scan made at or
//! before it. A time given to the minute or the day means the end of that minute or day.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// A time as `certaudit history` prints it, and as a selector reads it back.
pub fn printed(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A stored scan, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Id(i64),
    /// The last scan at or before this instant; the text as given, for messages.
    AtOrBefore(DateTime<Utc>, String),
}

/// Forms without a zone, all UTC (the zone `certaudit history` prints), and how much later
/// than the time written the period they name ends.
const NAIVE_FORMS: [(&str, i64); 4] = [
    ("%Y-%m-%d %H:%M:%S", 0),
    ("%Y-%m-%dT%H:%M:%S", 0),
    ("%Y-%m-%d %H:%M", 59),
    ("%Y-%m-%dT%H:%M", 59),
];

impl Selector {
    /// Parse a selector as clap's value parser does: a wrong one is a usage error.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        if let Ok(id) = text.parse::<i64>() {
            return Ok(Selector::Id(id));
        }
        let said = text.to_string();
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Selector::AtOrBefore(time.with_timezone(&Utc), said));
        }
        let naive = text
            .strip_suffix("UTC")
            .or_else(|| text.strip_suffix('Z'))
            .unwrap_or(text)
            .trim_end();
        for (form, rest_of_period) in NAIVE_FORMS {
            if let Ok(time) = NaiveDateTime::parse_from_str(naive, form) {
                let until = time.and_utc() + Duration::seconds(rest_of_period);
                return Ok(Selector::AtOrBefore(until, said));
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
            let end = date
                .and_hms_opt(23, 59, 59)
                .expect("a valid time")
                .and_utc();
            return Ok(Selector::AtOrBefore(end, said));
        }
        Err(format!(
            "'{text}' is not a scan ID or a time: give an ID from `certaudit history`, or a \
             time in UTC as it prints it (2026-12-06 03:19:55 UTC), as RFC 3339 \
             (2026-12-06T03:19:55Z) or as a date (2026-12-06)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn until(text: &str) -> DateTime<Utc> {
        match Selector::parse(text).unwrap() {
            Selector::AtOrBefore(t, said) => {
                assert_eq!(said, text.trim());
                t
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_time_history_prints_is_accepted_as_are_rfc3339_and_a_date() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 3, 19, 55).unwrap();
        assert_eq!(until("2026-12-06 03:19:55 UTC"), at);
        assert_eq!(until("2026-12-06 03:19:55"), at);
        assert_eq!(until("2026-12-06T03:19:55Z"), at);
        assert_eq!(until("2026-12-06T04:19:55+01:00"), at);
        assert_eq!(until("2026-12-06T03:19:55"), at, "no zone: UTC");
        assert_eq!(
            until("2026-12-06 03:19 UTC"),
            at + Duration::seconds(4),
            "the minute's end"
        );
        assert_eq!(
            until("2026-12-06"),
            Utc.with_ymd_and_hms(2026, 12, 6, 23, 59, 59).unwrap()
        );
        assert_eq!(until(&printed(at)), at, "what `certaudit history` prints");
        assert_eq!(Selector::parse(" 3 "), Ok(Selector::Id(3)));
        let wrong = Selector::parse("yesterday").unwrap_err();
        assert!(
            wrong.contains("not a scan ID") && wrong.contains("UTC"),
            "{wrong}"
        );
    }
}
