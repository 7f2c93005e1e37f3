//! Items as attribute maps: building them, and reading them back with every missing or
//! mistyped attribute reported as [`StoreError::Corrupt`].

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use crate::store::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(super) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

pub(super) fn b(bytes: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(Blob::new(bytes))
}

pub(super) fn flag(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

pub(super) fn list(texts: &[String]) -> AttributeValue {
    AttributeValue::L(texts.iter().map(|text| s(text.as_str())).collect())
}

/// An item with its key, to which attributes are added.
pub(super) fn item(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Adds the attributes that are given; `None`s are left out (absent, as DynamoDB has no null we
/// use).
pub(super) fn with(mut item: Item, attributes: &[(&str, Option<AttributeValue>)]) -> Item {
    for (name, value) in attributes {
        if let Some(value) = value {
            item.insert((*name).to_owned(), value.clone());
        }
    }
    item
}

/// Unix milliseconds of `time`.
pub(super) fn millis(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The time at `ms` unix milliseconds.
pub(super) fn time_at(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|err| StoreError::Corrupt(format!("timestamp {ms}: {err}")))
}

/// `duration` in milliseconds, saturating.
pub(super) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A sort key that orders like the number: zero-padded (negative numbers, which no time or id
/// here is, sort as 0).
pub(super) fn ordered(number: i64) -> String {
    format!("{:020}", number.max(0))
}

/// The TTL attribute's value for something that is useless after `ms` unix milliseconds: epoch
/// seconds, rounded up. DynamoDB deletes such items some time (up to days) later, so every read
/// still checks the expiry itself.
pub(super) fn ttl(ms: i64) -> AttributeValue {
    n(ms.div_euclid(1000) + 1)
}

fn corrupt(name: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute {name}: {what}"))
}

pub(super) fn text_opt(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
        Some(_) => Err(corrupt(name, "not a string")),
    }
}

pub(super) fn text(item: &Item, name: &str) -> Result<String, StoreError> {
    text_opt(item, name)?.ok_or_else(|| corrupt(name, "missing"))
}

pub(super) fn int_opt(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(number)) => number
            .parse()
            .map(Some)
            .map_err(|_| corrupt(name, "not an integer")),
        Some(_) => Err(corrupt(name, "not a number")),
    }
}

pub(super) fn int(item: &Item, name: &str) -> Result<i64, StoreError> {
    int_opt(item, name)?.ok_or_else(|| corrupt(name, "missing"))
}

pub(super) fn uint(item: &Item, name: &str) -> Result<u32, StoreError> {
    u32::try_from(int(item, name)?).map_err(|_| corrupt(name, "out of range"))
}

pub(super) fn boolean_opt(item: &Item, name: &str) -> Result<Option<bool>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(corrupt(name, "not a boolean")),
    }
}

pub(super) fn boolean(item: &Item, name: &str) -> Result<bool, StoreError> {
    boolean_opt(item, name)?.ok_or_else(|| corrupt(name, "missing"))
}

pub(super) fn bytes_opt(item: &Item, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::B(blob)) => Ok(Some(blob.clone().into_inner())),
        Some(_) => Err(corrupt(name, "not binary")),
    }
}

pub(super) fn texts(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::S(text) => Ok(text.clone()),
                _ => Err(corrupt(name, "not a list of strings")),
            })
            .collect(),
        Some(_) => Err(corrupt(name, "not a list")),
    }
}

pub(super) fn time(item: &Item, name: &str) -> Result<OffsetDateTime, StoreError> {
    time_at(int(item, name)?)
}

pub(super) fn time_opt(item: &Item, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    int_opt(item, name)?.map(time_at).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_keys_sort_like_their_numbers() {
        let mut keys: Vec<String> = [10, 9, 100, 0, 1].map(ordered).into();
        keys.sort();
        assert_eq!(keys, [0, 1, 9, 10, 100].map(ordered));
    }

    #[test]
    fn ttl_is_the_epoch_second_after_the_expiry() {
        assert_eq!(ttl(1_500), n(2));
        assert_eq!(ttl(2_000), n(3));
    }
}
