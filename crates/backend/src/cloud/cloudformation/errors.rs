//! What an AWS failure means to the driver.
//!
//! CloudFormation reports most refusals as one error code (`ValidationError`) and tells them apart
//! only in the message, so the messages AWS documents (and moto copies) are matched here, in one
//! place, with tests.

use std::error::Error;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::cloud::CloudError;

/// The kinds of failure the driver treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `AlreadyExistsException`: a stack of that name exists.
    AlreadyExists,
    /// The stack's state refuses the operation (`... is in UPDATE_IN_PROGRESS state and can not
    /// be updated`), or the same request token was used for another operation.
    Busy,
    /// `No updates are to be performed.`: the update asked for what the stack already is.
    NoUpdates,
    /// `Stack with id X does not exist` (also `Stack [X] does not exist`).
    DoesNotExist,
    /// Anything else: AWS failed, refused for another reason, or could not be reached.
    Other,
}

/// An AWS failure, reduced to what the driver needs: its kind and a message fit to show users
/// (AWS's own words; never a request or a credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AwsFailure {
    pub kind: Kind,
    pub message: String,
}

impl AwsFailure {
    /// Describes a failed call of `operation` (e.g. `CreateStack`) to `service`.
    pub fn from_sdk<E, R>(service: &str, operation: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + Error + 'static,
        R: std::fmt::Debug,
    {
        match &err {
            SdkError::ServiceError(_) => {
                let code = err.code().unwrap_or("UnknownError");
                let text = err.message().unwrap_or("AWS gave no reason");
                AwsFailure {
                    kind: classify(code, text),
                    message: format!("AWS {service} {operation} failed: {text} ({code})"),
                }
            }
            // Timeouts, connection failures, missing credentials, unreadable answers: the
            // context chain names the cause (an address at most, never a secret).
            _ => AwsFailure {
                kind: Kind::Other,
                message: format!(
                    "AWS {service} {operation} could not be completed: {}",
                    DisplayErrorContext(&err)
                ),
            },
        }
    }

    /// The error the trait reports for a failure the caller has no special meaning for.
    pub fn into_cloud_error(self) -> CloudError {
        match self.kind {
            Kind::AlreadyExists | Kind::Busy => CloudError::Conflict(self.message),
            Kind::NoUpdates | Kind::DoesNotExist | Kind::Other => {
                CloudError::Unavailable(self.message)
            }
        }
    }
}

/// Sorts an AWS error code and message into a [`Kind`].
pub(super) fn classify(code: &str, message: &str) -> Kind {
    if code == "AlreadyExistsException" {
        return Kind::AlreadyExists;
    }
    if code == "TokenAlreadyExistsException" {
        return Kind::Busy;
    }
    let message = message.to_ascii_lowercase();
    if message.contains("no updates are to be performed") {
        Kind::NoUpdates
    } else if message.contains("does not exist") {
        Kind::DoesNotExist
    } else if message.contains("already exists") {
        Kind::AlreadyExists
    } else if message.contains("can not be") || message.contains("cannot be") {
        // "... is in UPDATE_IN_PROGRESS state and can not be updated", and the same for
        // deletes of a stack that is being updated.
        Kind::Busy
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_aws_documents_are_classified() {
        let cases = [
            (
                "AlreadyExistsException",
                "Stack [alpha-cluster] already exists",
                Kind::AlreadyExists,
            ),
            (
                "ValidationError",
                "Stack:arn:aws:cloudformation:us-west-2:1:stack/alpha-cluster/x is in \
                 UPDATE_IN_PROGRESS state and can not be updated.",
                Kind::Busy,
            ),
            (
                "ValidationError",
                "Stack:arn:x is in DELETE_IN_PROGRESS state and can not be updated.",
                Kind::Busy,
            ),
            (
                "ValidationError",
                "No updates are to be performed.",
                Kind::NoUpdates,
            ),
            (
                "ValidationError",
                "Stack with id alpha-cluster does not exist",
                Kind::DoesNotExist,
            ),
            (
                "ValidationError",
                "Stack [alpha-cluster] does not exist",
                Kind::DoesNotExist,
            ),
            (
                "TokenAlreadyExistsException",
                "Another Stack Operation with the same token exists",
                Kind::Busy,
            ),
            (
                "ValidationError",
                "Parameters: [VpcId] must have values",
                Kind::Other,
            ),
            ("Throttling", "Rate exceeded", Kind::Other),
            (
                "InsufficientCapabilitiesException",
                "Requires capabilities : [CAPABILITY_NAMED_IAM]",
                Kind::Other,
            ),
        ];
        for (code, message, kind) in cases {
            assert_eq!(classify(code, message), kind, "{code}: {message}");
        }
    }

    #[test]
    fn conflicts_and_failures_keep_aws_words() {
        let busy = AwsFailure {
            kind: Kind::Busy,
            message: "in UPDATE_IN_PROGRESS state".into(),
        };
        assert_eq!(
            busy.into_cloud_error(),
            CloudError::Conflict("in UPDATE_IN_PROGRESS state".into())
        );
        let other = AwsFailure {
            kind: Kind::Other,
            message: "Rate exceeded".into(),
        };
        assert_eq!(
            other.into_cloud_error(),
            CloudError::Unavailable("Rate exceeded".into())
        );
    }
}
