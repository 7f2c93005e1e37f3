//! A cluster's time-to-live, in minutes.
//!
//! The type only says "a whole number of minutes". The minimum of 15 and each level's maximum are
//! checked by [`crate::limits`], because the spec answers them with 422 `limit_exceeded` and a
//! message naming the limit, while a TTL that is not a number at all is a 400.

use time::Duration;

use crate::flexible::{self, InvalidNumber, whole_number_newtype};

/// Minutes a cluster may live from now. Arrives as a JSON number or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(u32);

impl Ttl {
    /// A TTL of this many minutes.
    pub const fn from_minutes(minutes: u32) -> Self {
        Self(minutes)
    }

    /// Parses the string form, e.g. `"60"`.
    pub fn parse(text: &str) -> Result<Self, InvalidNumber> {
        flexible::parse_whole_number("ttl", text).map(Self)
    }

    /// The number of minutes.
    pub const fn minutes(self) -> u32 {
        self.0
    }

    /// The number of minutes (the name the other numeric types use).
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The TTL as a duration, for computing a deadline.
    pub fn duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

whole_number_newtype!(Ttl, "ttl");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_numbers_and_numeric_strings_alike() {
        let from_number: Ttl = serde_json::from_str("60").unwrap();
        let from_string: Ttl = serde_json::from_str(r#""60""#).unwrap();
        assert_eq!(from_number, from_string);
        assert_eq!(from_number.minutes(), 60);
        assert_eq!(Ttl::parse("60").unwrap(), from_number);
    }

    #[test]
    fn ttl_serializes_as_a_number() {
        assert_eq!(serde_json::to_string(&Ttl::from_minutes(30)).unwrap(), "30");
    }

    #[test]
    fn ttl_refuses_negative_fractional_and_non_numeric_values_naming_the_field() {
        for (json, expected) in [
            ("-1", "ttl -1 is not valid: it cannot be negative"),
            (
                "1.5",
                "ttl 1.5 is not valid: it must be a whole number, without a fractional part",
            ),
            (
                r#""soon""#,
                "ttl \"soon\" is not valid: it must be a whole number",
            ),
        ] {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            let err = serde_json::from_value::<Ttl>(value)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(expected), "{json}: {err}");
        }
    }

    #[test]
    fn ttl_accepts_values_below_the_minimum_for_the_limit_check_to_judge() {
        assert_eq!(Ttl::parse("0").unwrap().minutes(), 0);
        assert_eq!(Ttl::parse("10").unwrap().minutes(), 10);
    }

    #[test]
    fn ttl_converts_to_a_duration_in_minutes() {
        assert_eq!(Ttl::from_minutes(90).duration(), Duration::minutes(90));
    }

    #[test]
    fn ttl_try_from_refuses_negative_integers() {
        assert!(Ttl::try_from(-3_i64).is_err());
        assert_eq!(Ttl::try_from(3_i64).unwrap().minutes(), 3);
    }
}
