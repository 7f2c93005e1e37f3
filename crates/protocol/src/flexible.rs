//! Lenient readers for numbers and booleans that clients send in more than one form.
//!
//! The official Python client and upstream's own tests send `"node_capacity": "60"` and
//! `"ttl": "30"`; browsers send numbers; query strings and form bodies only have strings. The spec
//! accepts whole numbers as JSON numbers or numeric strings and booleans as `true` or `"true"`,
//! and answers anything else with a 400 whose description names the field, the value and the rule.
//!
//! These functions are the one place that rule lives. Field types call them from their own
//! `Deserialize` (see [`crate::Ttl`]), and request structs call them through small named wrappers,
//! because serde's `deserialize_with` cannot pass the field name along.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use thiserror::Error;

use crate::error::quote;

/// A value that should have been a whole, non-negative number (at most `u32::MAX`).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field} {shown} is not valid: {problem}")]
pub struct InvalidNumber {
    /// The field's name on the wire, e.g. `ttl`.
    pub field: &'static str,
    /// The value as it arrived, rendered for a person (strings quoted).
    pub shown: String,
    /// Which rule it breaks.
    pub problem: NumberProblem,
}

/// The rule an [`InvalidNumber`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum NumberProblem {
    /// Not a number at all, e.g. `"sixty"` or `true`.
    #[error(
        "it must be a whole number, written as a number or as a string of digits such as \"60\""
    )]
    NotANumber,
    /// Below zero.
    #[error("it cannot be negative")]
    Negative,
    /// Has a fractional part.
    #[error("it must be a whole number, without a fractional part")]
    Fractional,
    /// Larger than this field can hold.
    #[error("it must be at most {max}", max = u32::MAX)]
    TooLarge,
}

impl InvalidNumber {
    fn new(field: &'static str, shown: impl Into<String>, problem: NumberProblem) -> Self {
        Self {
            field,
            shown: shown.into(),
            problem,
        }
    }
}

/// Parses a numeric string: digits, optionally with a zero fractional part (`"60.0"`, which is
/// what Python's `str(60.0)` gives). No `+`, exponent or blanks: clients that send strings send
/// what `str(int)` or a form field produced. A leading `-` is recognised only to say that the
/// value cannot be negative, which helps more than "not a number".
pub fn parse_whole_number(field: &'static str, text: &str) -> Result<u32, InvalidNumber> {
    let fail = |problem| InvalidNumber::new(field, quote(text), problem);
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(fail(NumberProblem::NotANumber));
    }
    if unsigned.ends_with('.') {
        return Err(fail(NumberProblem::NotANumber));
    }
    let is_zero = |s: &str| s.bytes().all(|b| b == b'0');
    if negative && !(is_zero(whole) && is_zero(fraction)) {
        return Err(fail(NumberProblem::Negative));
    }
    if !is_zero(fraction) {
        return Err(fail(NumberProblem::Fractional));
    }
    // Leading zeros are harmless ("060" is 60); strip them so the length check below is honest.
    let significant = whole.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    significant
        .parse::<u32>()
        .map_err(|_| fail(NumberProblem::TooLarge))
}

/// Checks a JSON integer.
pub fn whole_number_from_i128(field: &'static str, value: i128) -> Result<u32, InvalidNumber> {
    if value < 0 {
        return Err(InvalidNumber::new(
            field,
            value.to_string(),
            NumberProblem::Negative,
        ));
    }
    u32::try_from(value)
        .map_err(|_| InvalidNumber::new(field, value.to_string(), NumberProblem::TooLarge))
}

/// Checks a JSON number that arrived as a float; `60.0` is accepted as 60.
pub fn whole_number_from_f64(field: &'static str, value: f64) -> Result<u32, InvalidNumber> {
    // Debug keeps floats short (`1e300`, not three hundred digits).
    let fail = |problem| InvalidNumber::new(field, format!("{value:?}"), problem);
    if !value.is_finite() {
        return Err(fail(NumberProblem::NotANumber));
    }
    if value < 0.0 {
        return Err(fail(NumberProblem::Negative));
    }
    if value.fract() != 0.0 {
        return Err(fail(NumberProblem::Fractional));
    }
    if value > f64::from(u32::MAX) {
        return Err(fail(NumberProblem::TooLarge));
    }
    // In range and whole, so the conversion is exact.
    Ok(value as u32)
}

/// Reads a whole number from a JSON number or a numeric string, for the field `field`.
pub fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<u32, D::Error> {
    deserializer.deserialize_any(WholeNumberVisitor { field })
}

struct WholeNumberVisitor {
    field: &'static str,
}

impl WholeNumberVisitor {
    fn wrong_kind<E: de::Error>(&self, shown: &str) -> E {
        E::custom(InvalidNumber::new(
            self.field,
            shown,
            NumberProblem::NotANumber,
        ))
    }
}

impl<'de> Visitor<'de> for WholeNumberVisitor {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a whole number or a string of digits", self.field)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        whole_number_from_i128(self.field, i128::from(v)).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        whole_number_from_i128(self.field, i128::from(v)).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| {
            E::custom(InvalidNumber::new(
                self.field,
                v.to_string(),
                NumberProblem::TooLarge,
            ))
        })
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u32, E> {
        whole_number_from_i128(self.field, v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        whole_number_from_f64(self.field, v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        parse_whole_number(self.field, v).map_err(E::custom)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<u32, E> {
        Err(self.wrong_kind(if v { "true" } else { "false" }))
    }

    fn visit_unit<E: de::Error>(self) -> Result<u32, E> {
        Err(self.wrong_kind("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<u32, E> {
        Err(self.wrong_kind("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<u32, A::Error> {
        Err(self.wrong_kind("(a list)"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<u32, A::Error> {
        Err(self.wrong_kind("(an object)"))
    }
}

/// A value that should have been `true` or `false`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field} {shown} is not valid: it must be true or false")]
pub struct InvalidBool {
    /// The field's name on the wire, e.g. `is_public`.
    pub field: &'static str,
    /// The value as it arrived, rendered for a person.
    pub shown: String,
}

/// Parses `"true"` or `"false"` (exactly: the spec allows these two strings and no others).
pub fn parse_bool(field: &'static str, text: &str) -> Result<bool, InvalidBool> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(InvalidBool {
            field,
            shown: quote(text),
        }),
    }
}

/// Reads `true`, `false`, `"true"` or `"false"` for the field `field`.
pub fn boolean<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<bool, D::Error> {
    match deserializer.deserialize_any(BoolVisitor {
        field,
        null_is_none: false,
    })? {
        Some(value) => Ok(value),
        None => Err(de::Error::custom(InvalidBool {
            field,
            shown: "null".into(),
        })),
    }
}

/// Like [`boolean`], but `null` means "not given". Use with `#[serde(default)]`.
pub fn optional_boolean<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
) -> Result<Option<bool>, D::Error> {
    deserializer.deserialize_any(BoolVisitor {
        field,
        null_is_none: true,
    })
}

struct BoolVisitor {
    field: &'static str,
    null_is_none: bool,
}

impl BoolVisitor {
    fn refuse<E: de::Error>(&self, shown: impl Into<String>) -> E {
        E::custom(InvalidBool {
            field: self.field,
            shown: shown.into(),
        })
    }
}

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as true or false", self.field)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<bool>, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<bool>, E> {
        parse_bool(self.field, v).map(Some).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<bool>, E> {
        if self.null_is_none {
            Ok(None)
        } else {
            Err(self.refuse("null"))
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<bool>, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<bool>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<bool>, E> {
        Err(self.refuse(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<bool>, E> {
        Err(self.refuse(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<bool>, E> {
        Err(self.refuse(format!("{v:?}")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Option<bool>, A::Error> {
        Err(self.refuse("(a list)"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Option<bool>, A::Error> {
        Err(self.refuse("(an object)"))
    }
}

/// A boolean carried as the string `"true"` or `"false"`, as upstream's token `info` does
/// (`isOrgMember`, `isOrgOwner`). Use with `#[serde(with = "flexible::string_bool")]`.
pub mod string_bool {
    use serde::{Deserializer, Serializer};

    /// Writes `"true"` or `"false"`.
    pub fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if *value { "true" } else { "false" })
    }

    /// Reads `"true"`, `"false"`, `true` or `false`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        super::boolean(deserializer, "flag")
    }
}

/// Implements `Display`, `FromStr`, `From<u32>`, `Serialize` (as a JSON number) and a lenient
/// `Deserialize` for a newtype over `u32` whose wire field is `$field`.
macro_rules! whole_number_newtype {
    ($ty:ident, $field:literal) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::flexible::InvalidNumber;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<u32> for $ty {
            fn from(value: u32) -> Self {
                Self(value)
            }
        }

        impl From<$ty> for u32 {
            fn from(value: $ty) -> Self {
                value.0
            }
        }

        impl TryFrom<i64> for $ty {
            type Error = $crate::flexible::InvalidNumber;

            fn try_from(value: i64) -> Result<Self, Self::Error> {
                $crate::flexible::whole_number_from_i128($field, i128::from(value)).map(Self)
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u32(self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                $crate::flexible::whole_number(deserializer, $field).map(Self)
            }
        }
    };
}
pub(crate) use whole_number_newtype;

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    struct Body {
        #[serde(deserialize_with = "ttl")]
        ttl: u32,
        #[serde(default, deserialize_with = "is_public")]
        is_public: Option<bool>,
    }

    fn ttl<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        whole_number(d, "ttl")
    }

    fn is_public<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        optional_boolean(d, "is_public")
    }

    fn message(json: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        serde_json::from_value::<Body>(value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn whole_number_accepts_numbers_numeric_strings_and_whole_floats() {
        for json in [
            r#"{"ttl":60}"#,
            r#"{"ttl":"60"}"#,
            r#"{"ttl":60.0}"#,
            r#"{"ttl":"60.0"}"#,
            r#"{"ttl":"060"}"#,
        ] {
            let body: Body = serde_json::from_str(json).unwrap();
            assert_eq!(body.ttl, 60, "{json}");
        }
    }

    #[test]
    fn whole_number_refuses_words_with_the_field_and_value() {
        assert_eq!(
            message(r#"{"ttl":"sixty"}"#),
            "ttl \"sixty\" is not valid: it must be a whole number, written as a number or as a \
             string of digits such as \"60\""
        );
    }

    #[test]
    fn whole_number_refuses_negative_values() {
        assert_eq!(
            message(r#"{"ttl":-5}"#),
            "ttl -5 is not valid: it cannot be negative"
        );
        assert_eq!(
            message(r#"{"ttl":"-5"}"#),
            "ttl \"-5\" is not valid: it cannot be negative"
        );
    }

    #[test]
    fn whole_number_refuses_fractions() {
        assert!(message(r#"{"ttl":2.5}"#).starts_with("ttl 2.5 is not valid: it must be a whole"));
        assert!(message(r#"{"ttl":"2.5"}"#).contains("without a fractional part"));
    }

    #[test]
    fn whole_number_refuses_values_beyond_u32() {
        assert_eq!(
            message(r#"{"ttl":4294967296}"#),
            "ttl 4294967296 is not valid: it must be at most 4294967295"
        );
        assert!(message(r#"{"ttl":"99999999999999999999999"}"#).contains("at most 4294967295"));
    }

    #[test]
    fn whole_number_refuses_other_json_kinds() {
        assert!(message(r#"{"ttl":true}"#).starts_with("ttl true is not valid"));
        assert!(message(r#"{"ttl":null}"#).starts_with("ttl null is not valid"));
        assert!(message(r#"{"ttl":[1]}"#).starts_with("ttl (a list) is not valid"));
    }

    #[test]
    fn parse_whole_number_refuses_malformed_strings() {
        for text in [
            "", " 60", "60 ", "+60", "6e1", "60.", ".5", "1.2.3", "-", "0x10",
        ] {
            assert_eq!(
                parse_whole_number("ttl", text).unwrap_err().problem,
                NumberProblem::NotANumber,
                "{text:?}"
            );
        }
        assert_eq!(parse_whole_number("ttl", "-0"), Ok(0));
    }

    #[test]
    fn boolean_accepts_json_booleans_and_their_strings() {
        for (json, expected) in [
            (r#"{"ttl":1,"is_public":true}"#, Some(true)),
            (r#"{"ttl":1,"is_public":"true"}"#, Some(true)),
            (r#"{"ttl":1,"is_public":"false"}"#, Some(false)),
            (r#"{"ttl":1,"is_public":null}"#, None),
            (r#"{"ttl":1}"#, None),
        ] {
            let body: Body = serde_json::from_str(json).unwrap();
            assert_eq!(body.is_public, expected, "{json}");
        }
    }

    #[test]
    fn boolean_refuses_other_values_naming_the_field() {
        assert_eq!(
            message(r#"{"ttl":1,"is_public":"yes"}"#),
            "is_public \"yes\" is not valid: it must be true or false"
        );
        assert_eq!(
            message(r#"{"ttl":1,"is_public":1}"#),
            "is_public 1 is not valid: it must be true or false"
        );
        assert!(message(r#"{"ttl":1,"is_public":"True"}"#).contains("\"True\""));
    }
}
