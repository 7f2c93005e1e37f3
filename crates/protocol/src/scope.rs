//! OAuth scopes: what a token may be used for.
//!
//! On the wire a set of scopes is one space-separated string (RFC 6749 §3.3). We always write it
//! in one fixed order so tokens and responses are reproducible and easy to compare.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::error::quote;

/// One scope. The declaration order is the canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `sliderule:access`: use clusters.
    SlideruleAccess,
    /// `provisioner:access`: call the provisioner.
    ProvisionerAccess,
    /// `monitor:access`: cluster monitoring pages.
    MonitorAccess,
    /// `runner:access`: the test runner.
    RunnerAccess,
    /// `sliderule:admin`: owner powers, for organization admins who ask for them.
    SlideruleAdmin,
}

impl Scope {
    /// Every scope, in canonical order.
    pub const ALL: [Scope; 5] = [
        Scope::SlideruleAccess,
        Scope::ProvisionerAccess,
        Scope::MonitorAccess,
        Scope::RunnerAccess,
        Scope::SlideruleAdmin,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::SlideruleAccess => "sliderule:access",
            Scope::ProvisionerAccess => "provisioner:access",
            Scope::MonitorAccess => "monitor:access",
            Scope::RunnerAccess => "runner:access",
            Scope::SlideruleAdmin => "sliderule:admin",
        }
    }

    /// Parses one scope name.
    pub fn parse(name: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| UnknownScope { shown: quote(name) })
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Scope::parse(&text).map_err(de::Error::custom)
    }
}

/// A scope name this service does not know.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "scope {shown} is not known; the scopes are sliderule:access, provisioner:access, \
     monitor:access, runner:access and sliderule:admin"
)]
pub struct UnknownScope {
    /// The name as it was given, quoted.
    pub shown: String,
}

/// A set of scopes, written as one space-separated string in canonical order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope.
    pub const NONE: Scopes = Scopes(0);

    /// What anyone signed in gets: use clusters and their monitoring pages.
    pub const GUEST: Scopes = Scopes::NONE
        .with(Scope::SlideruleAccess)
        .with(Scope::MonitorAccess);

    /// What members and affiliates may hold (and what a PAT login grants).
    pub const MEMBER: Scopes = Scopes::GUEST
        .with(Scope::ProvisionerAccess)
        .with(Scope::RunnerAccess);

    /// Every scope; what the device flow asks for when the client names none.
    pub const ALL: Scopes = Scopes::MEMBER.with(Scope::SlideruleAdmin);

    /// Parses a space-separated list. Repeats are harmless; unknown names are refused.
    pub fn parse(text: &str) -> Result<Scopes, UnknownScope> {
        text.split_ascii_whitespace().map(Scope::parse).collect()
    }

    /// Whether the set holds `scope`.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Adds `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// The set with `scope` added.
    #[must_use]
    pub const fn with(self, scope: Scope) -> Scopes {
        Scopes(self.0 | scope.bit())
    }

    /// The set without `scope`.
    #[must_use]
    pub const fn without(self, scope: Scope) -> Scopes {
        Scopes(self.0 & !scope.bit())
    }

    /// The scopes in both sets (e.g. requested ∩ allowed).
    #[must_use]
    pub const fn intersection(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// Whether every scope of `self` is in `other`.
    pub const fn is_subset(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

impl FromStr for Scopes {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scopes::parse(s)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::NONE;
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScopesVisitor;
        impl Visitor<'_> for ScopesVisitor {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("scopes as one space-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scopes, E> {
                Scopes::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ScopesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_serialize_in_canonical_order_whatever_the_input_order() {
        let scopes = Scopes::parse("sliderule:admin runner:access sliderule:access").unwrap();
        assert_eq!(
            scopes.to_string(),
            "sliderule:access runner:access sliderule:admin"
        );
        assert_eq!(
            serde_json::to_string(&scopes).unwrap(),
            r#""sliderule:access runner:access sliderule:admin""#
        );
    }

    #[test]
    fn scopes_all_lists_every_scope_in_order() {
        assert_eq!(
            Scopes::ALL.to_string(),
            "sliderule:access provisioner:access monitor:access runner:access sliderule:admin"
        );
        assert_eq!(Scopes::ALL.iter().collect::<Vec<_>>(), Scope::ALL);
    }

    #[test]
    fn scope_sets_nest_guest_member_all() {
        assert!(Scopes::GUEST.is_subset(Scopes::MEMBER));
        assert!(Scopes::MEMBER.is_subset(Scopes::ALL));
        assert!(!Scopes::MEMBER.contains(Scope::SlideruleAdmin));
        assert!(!Scopes::ALL.is_subset(Scopes::MEMBER));
    }

    #[test]
    fn scopes_ignore_repeats_and_extra_blanks() {
        let scopes = Scopes::parse("  monitor:access   monitor:access ").unwrap();
        assert_eq!(scopes.to_string(), "monitor:access");
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn scopes_refuse_unknown_names_with_the_known_list() {
        let err = Scopes::parse("sliderule:access mcp:tools").unwrap_err();
        assert_eq!(
            err.to_string(),
            "scope \"mcp:tools\" is not known; the scopes are sliderule:access, \
             provisioner:access, monitor:access, runner:access and sliderule:admin"
        );
        assert!(serde_json::from_str::<Scopes>(r#""read:org""#).is_err());
    }

    #[test]
    fn scopes_intersect_and_remove() {
        let requested = Scopes::ALL;
        assert_eq!(requested.intersection(Scopes::GUEST), Scopes::GUEST);
        assert_eq!(Scopes::ALL.without(Scope::SlideruleAdmin), Scopes::MEMBER);
    }
}
