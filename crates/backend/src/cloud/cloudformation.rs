//! The AWS CloudFormation driver (being written).
