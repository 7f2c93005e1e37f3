//! Resolving a GitHub token to an identity, with membership cached for at most five minutes.

use std::sync::Arc;
use std::time::Duration;

use github_emulator::{Endpoint, Fault, Membership as Seeded, Seed};
use sliderule_backend::authenticator::identity::IdentityResolver;
use sliderule_backend::github::{GitHubError, Membership};

use crate::helpers::emulator_with;

const ORG: &str = "SlideRuleEarth";

#[tokio::test]
async fn a_members_token_resolves_to_login_id_membership_and_teams() {
    let (_gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::new(Arc::new(github), ORG);
    let bob = resolver.resolve("demo-pat-bob").await.unwrap();
    assert_eq!((bob.login.as_str(), bob.github_id), ("bob", 1002));
    assert_eq!(bob.membership, Membership::Member);
    assert_eq!(bob.teams, ["icesat2"]);
}

#[tokio::test]
async fn a_non_member_resolves_without_teams() {
    let (_gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::new(Arc::new(github), ORG);
    let dave = resolver.resolve("demo-pat-dave").await.unwrap();
    assert_eq!(dave.membership, Membership::None);
    assert!(dave.teams.is_empty());
}

#[tokio::test]
async fn membership_is_reused_within_the_cache_time() {
    let (gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::new(Arc::new(github), ORG);
    assert_eq!(
        resolver.resolve("demo-pat-bob").await.unwrap().membership,
        Membership::Member
    );
    gh.emulator().set_membership("bob", Seeded::None).unwrap();
    assert_eq!(
        resolver.resolve("demo-pat-bob").await.unwrap().membership,
        Membership::Member,
        "a cached answer, at most five minutes old"
    );
}

#[tokio::test]
async fn without_a_cache_a_removal_is_seen_at_once() {
    let (gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::with_cache(Arc::new(github), ORG, Duration::ZERO);
    resolver.resolve("demo-pat-bob").await.unwrap();
    gh.emulator().set_membership("bob", Seeded::None).unwrap();
    let bob = resolver.resolve("demo-pat-bob").await.unwrap();
    assert_eq!(bob.membership, Membership::None);
    assert!(bob.teams.is_empty());
}

#[tokio::test]
async fn the_token_is_checked_every_time_even_when_membership_is_cached() {
    let (_gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::new(Arc::new(github), ORG);
    resolver.resolve("demo-pat-bob").await.unwrap();
    assert_eq!(
        resolver.resolve("not-a-token").await,
        Err(GitHubError::InvalidToken)
    );
}

#[tokio::test]
async fn a_failed_membership_check_is_not_cached() {
    let (gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::new(Arc::new(github), ORG);
    gh.emulator()
        .set_fault(Endpoint::Membership, Fault::status(502));
    assert!(matches!(
        resolver.resolve("demo-pat-bob").await,
        Err(GitHubError::Unavailable(_))
    ));
    gh.emulator().clear_faults();
    assert_eq!(
        resolver.resolve("demo-pat-bob").await.unwrap().membership,
        Membership::Member
    );
}

#[tokio::test]
async fn a_refresh_recheck_uses_the_service_token() {
    let (gh, github) = emulator_with(Seed::demo()).await;
    let resolver = IdentityResolver::with_cache(Arc::new(github), ORG, Duration::ZERO);
    assert_eq!(
        resolver.recheck_membership("demo-pat-alice", "bob").await,
        Ok(Membership::Member)
    );
    gh.emulator().set_membership("bob", Seeded::None).unwrap();
    assert_eq!(
        resolver.recheck_membership("demo-pat-alice", "bob").await,
        Ok(Membership::None)
    );
}
