//! OpenAPI schemas of the types whose JSON form is not what their Rust shape says (feature
//! `openapi`): validated strings, flexible numbers that arrive as a number or a numeric string,
//! exact money, constant markers and bit sets that travel as lists.
//!
//! Each schema describes every form the server accepts, so a generator (schemathesis) can make
//! valid requests from it, and every form the server writes, so a response can be checked
//! against it.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

use crate::cluster_name::MAX_CLUSTER_NAME_LEN;
use crate::marker::{Bearer, Failed, Pending, Success, True};
use crate::money::MAX_WIRE_USD;
use crate::organizations::accounts::{MAX_USERNAME_LEN, Username};
use crate::provisioner::StackStatus;
use crate::provisioner::node_groups::{HostCluster, PUBLIC_CLUSTER_ALIAS};
use crate::provisioner::test_runner::{Branch, MAX_BRANCH_LEN};
use crate::version::MAX_VERSION_LEN;
use crate::{ClusterName, NodeCapacity, OrgRoles, Scopes, Ttl, Usd, Version};

fn string(description: &str, pattern: Option<&str>, max_length: Option<usize>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .max_length(max_length)
        .min_length(Some(1))
        .into()
}

fn constant(value: serde_json::Value, kind: Type) -> Schema {
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some([value]))
        .into()
}

/// A whole number that may also arrive as a string of digits (`60` or `"60"`); always written
/// as a number.
fn whole_number(description: &str) -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{1,9}$")),
        )
        .description(Some(description))
        .into()
}

macro_rules! schema {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema)
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

schema!(
    ClusterName,
    "ClusterName",
    string(
        "A cluster name: lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
        Some("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"),
        Some(MAX_CLUSTER_NAME_LEN),
    )
);
schema!(
    HostCluster,
    "HostCluster",
    string(
        &format!("A cluster name, or `{PUBLIC_CLUSTER_ALIAS}` for the public cluster."),
        Some("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"),
        Some(MAX_CLUSTER_NAME_LEN),
    )
);
schema!(
    Version,
    "Version",
    string(
        "A release tag or `latest`.",
        Some("^[A-Za-z0-9._-]+$"),
        Some(MAX_VERSION_LEN),
    )
);
schema!(
    Branch,
    "Branch",
    string(
        "A git branch name.",
        Some("^[A-Za-z0-9_][A-Za-z0-9._/-]*$"),
        Some(MAX_BRANCH_LEN),
    )
);
schema!(
    Username,
    "Username",
    string(
        "A local account's name: letters, digits and hyphens.",
        Some("^[A-Za-z0-9][A-Za-z0-9-]*$"),
        Some(MAX_USERNAME_LEN),
    )
);
schema!(
    Scopes,
    "Scopes",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Space-separated scopes (sliderule:access provisioner:access monitor:access runner:access sliderule:admin).",
        ))
        .into()
);
schema!(
    StackStatus,
    "StackStatus",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "The CloudFormation stack status, e.g. CREATE_COMPLETE."
        ))
        .into()
);
schema!(
    OrgRoles,
    "OrgRoles",
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["owner", "member", "affiliate"])),
        )
        .into()
);
schema!(
    Ttl,
    "Ttl",
    whole_number("Minutes, as a number or a string of digits.")
);
schema!(
    NodeCapacity,
    "NodeCapacity",
    whole_number("A number of nodes, as a number or a string of digits.")
);
schema!(
    Usd,
    "Usd",
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .format(Some(SchemaFormat::Custom("decimal".into())))
                .minimum(Some(-MAX_WIRE_USD))
                .maximum(Some(MAX_WIRE_USD)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^-?[0-9]{1,10}(\\.[0-9]{1,6})?$")),
        )
        .description(Some(
            "US dollars with at most six decimals, as a number or a string; written as a number rounded to cents.",
        ))
        .into()
);
schema!(
    Success,
    "SuccessStatus",
    constant("success".into(), Type::String)
);
schema!(
    Pending,
    "PendingStatus",
    constant("pending".into(), Type::String)
);
schema!(
    Failed,
    "ErrorStatus",
    constant("error".into(), Type::String)
);
schema!(
    Bearer,
    "BearerTokenType",
    constant("Bearer".into(), Type::String)
);
schema!(True, "StatusTrue", constant(true.into(), Type::Boolean));
