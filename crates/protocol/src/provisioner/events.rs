//! `/events`: a cluster's CloudFormation stack events, newest first.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One stack event. The body of `/events` is a JSON array of these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct StackEvent {
    /// When it happened.
    #[serde(with = "crate::timestamp")]
    pub timestamp: OffsetDateTime,
    /// The template's name for the resource (the stack's own events carry the stack name).
    pub logical_resource_id: String,
    /// e.g. `AWS::AutoScaling::AutoScalingGroup`.
    pub resource_type: String,
    /// The resource's status, e.g. `CREATE_COMPLETE`. Resource statuses include values stacks
    /// never have (`DELETE_SKIPPED`), so this is kept as text.
    pub resource_status: String,
    /// Why, when AWS says.
    #[serde(default)]
    pub resource_status_reason: Option<String>,
    /// AWS's id of the resource, once it exists.
    #[serde(default)]
    pub physical_resource_id: Option<String>,
}
