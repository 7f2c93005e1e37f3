//! RFC 3339 timestamps on the wire, always written in UTC (`2026-05-07T14:30:00Z`).
//!
//! Upstream wrote Python's `isoformat()` (`+00:00`); both forms parse. Writing one form only means
//! a deadline shown in the browser and the one in the store cannot differ by a time zone.
//! Use with `#[serde(with = "crate::timestamp")]` or `#[serde(with = "crate::timestamp::option")]`.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde::ser::{self, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Formats a time as RFC 3339 in UTC.
pub fn format(value: OffsetDateTime) -> Result<String, time::error::Format> {
    value.to_offset(UtcOffset::UTC).format(&Rfc3339)
}

/// Parses an RFC 3339 time with any offset.
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339)
}

/// Writes the time as an RFC 3339 UTC string.
pub fn serialize<S: Serializer>(value: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    let text = format(*value).map_err(ser::Error::custom)?;
    serializer.serialize_str(&text)
}

/// Reads an RFC 3339 string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse(&text).map_err(|e| de::Error::custom(format!("{text:?} is not an RFC 3339 time: {e}")))
}

/// The same for `Option<OffsetDateTime>`, with `null` for `None`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes the time, or `null`.
    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads an RFC 3339 string or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super")] OffsetDateTime);
        Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(t)| t))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn timestamps_are_written_in_utc_with_z() {
        assert_eq!(
            format(datetime!(2026-05-07 16:30:00 +02:00)).unwrap(),
            "2026-05-07T14:30:00Z"
        );
    }

    #[test]
    fn timestamps_with_a_numeric_offset_parse() {
        assert_eq!(
            parse("2026-05-07T14:30:00+00:00").unwrap(),
            datetime!(2026-05-07 14:30:00 UTC)
        );
        assert!(parse("2026-05-07 14:30").is_err());
    }
}
