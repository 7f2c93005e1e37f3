//! Constant fields that clients branch on: `"status":"success"`, `"status":true`,
//! `"token_type":"Bearer"`.
//!
//! Each marker is a unit type that serializes as its one value and refuses any other value when
//! deserializing. That lets an untagged enum of replies tell a success from a pending answer, and
//! it makes it impossible to build a success body that says anything else.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

macro_rules! string_marker {
    ($(#[$doc:meta])* $name:ident = $value:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $name {
            /// The one value this marker stands for.
            pub const VALUE: &'static str = $value;
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Exact;
                impl Visitor<'_> for Exact {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "the string {:?}", $value)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        if v == $value {
                            Ok($name)
                        } else {
                            Err(E::invalid_value(de::Unexpected::Str(v), &self))
                        }
                    }
                }
                deserializer.deserialize_str(Exact)
            }
        }
    };
}

string_marker!(
    /// `"status": "success"`, which the official Python client checks on every login reply.
    Success = "success"
);
string_marker!(
    /// `"status": "pending"` of a device poll that should be repeated.
    Pending = "pending"
);
string_marker!(
    /// `"status": "error"` of a device poll that has failed for good.
    Failed = "error"
);
string_marker!(
    /// `"token_type": "Bearer"` of an OAuth token response.
    Bearer = "Bearer"
);

/// `"status": true` of provisioner replies (the v5 shape clients still read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct True;

impl Serialize for True {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            true => Ok(True),
            false => Err(de::Error::invalid_value(
                de::Unexpected::Bool(false),
                &"true",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_marker_accepts_only_success() {
        assert!(serde_json::from_str::<Success>(r#""success""#).is_ok());
        assert!(serde_json::from_str::<Success>(r#""pending""#).is_err());
        assert!(serde_json::from_str::<Success>("true").is_err());
        assert_eq!(serde_json::to_string(&Success).unwrap(), r#""success""#);
    }

    #[test]
    fn true_marker_accepts_only_true() {
        assert!(serde_json::from_str::<True>("true").is_ok());
        assert!(serde_json::from_str::<True>("false").is_err());
        assert!(serde_json::from_str::<True>(r#""true""#).is_err());
        assert_eq!(serde_json::to_string(&True).unwrap(), "true");
    }

    #[test]
    fn bearer_marker_is_case_sensitive() {
        assert!(serde_json::from_str::<Bearer>(r#""Bearer""#).is_ok());
        assert!(serde_json::from_str::<Bearer>(r#""bearer""#).is_err());
    }
}
