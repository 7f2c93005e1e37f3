//! GitHub's REST API calls the authenticator makes: `GET /user`, `GET /orgs/{org}/memberships/
//! {username}`, `GET /user/teams` and `GET /user/orgs`, with GitHub's JSON shapes, error bodies,
//! `Link` pagination and rate-limit headers. Tokens are OAuth tokens the emulator issued or seeded
//! PATs, sent as `Authorization: Bearer …` or `Authorization: token …`.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LINK};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Emulator;
use crate::faults::{self, Endpoint};
use crate::oauth::read_params;
use crate::respond::{self, Base, RateHeaders};
use crate::seed::Membership;
use crate::state::{Directory, Grant, SEED_ORG, State as World};

/// A fixed timestamp: the emulator has no history, and stable bodies are easier to compare.
const CREATED_AT: &str = "2020-01-01T00:00:00Z";

const USER_DOCS: &str = "https://docs.github.com/rest/users/users#get-the-authenticated-user";
const MEMBERSHIP_DOCS: &str =
    "https://docs.github.com/rest/orgs/members#get-organization-membership-for-a-user";

/// Who is calling.
enum Caller {
    Missing,
    Bad,
    User(Grant),
}

impl Caller {
    fn id(&self, directory: &Directory) -> Option<u64> {
        match self {
            Caller::User(grant) => Some(directory.users[grant.user].id),
            _ => None,
        }
    }
}

fn token_from(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then_some(token)
        .filter(|t| !t.is_empty())
}

/// Authenticates, applies the endpoint's fault, and counts the call. Returns the caller's grant
/// and the rate-limit headers, or the answer that ends the request.
async fn begin(
    emulator: &Emulator,
    endpoint: Endpoint,
    headers: &HeaderMap,
    docs: &str,
) -> Result<(Grant, RateHeaders), Response> {
    let (caller, caller_id) = emulator.with_state(|state| {
        let caller = match headers.get(AUTHORIZATION) {
            None => Caller::Missing,
            Some(_) => match token_from(headers).and_then(|t| state.grant_for(t)) {
                Some(grant) => Caller::User(grant),
                None => Caller::Bad,
            },
        };
        let id = caller.id(&state.directory);
        (caller, id)
    });
    if let Some(fault) = faults::apply(emulator, endpoint, caller_id).await {
        return Err(fault);
    }
    let rate = emulator.with_state(|state| {
        let (limit, remaining, reset) = state.count_api_call(caller_id);
        RateHeaders {
            limit,
            remaining,
            reset,
        }
    });
    match caller {
        Caller::User(grant) => Ok((grant, rate)),
        Caller::Missing => Err(respond::api_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            docs,
            rate,
        )),
        Caller::Bad => Err(respond::api_error(
            StatusCode::UNAUTHORIZED,
            "Bad credentials",
            respond::REST_DOCS,
            rate,
        )),
    }
}

/// Adds `x-oauth-scopes` (GitHub lists a token's scopes with ", ").
fn with_scopes(mut response: Response, grant: &Grant) -> Response {
    let scopes = grant
        .scope
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&scopes) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-oauth-scopes"), value);
    }
    response
}

/// Legacy GitHub node ids: base64 of `0<length of Type>:<Type><id>`.
fn node_id(kind: &str, id: u64) -> String {
    let raw = format!("0{}:{kind}{id}", kind.len());
    base64(raw.as_bytes())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn user_simple(base: &str, directory: &Directory, user: usize) -> Value {
    let u = &directory.users[user];
    let login = &u.login;
    json!({
        "login": login,
        "id": u.id,
        "node_id": node_id("User", u.id),
        "avatar_url": format!("{base}/avatars/u/{}?v=4", u.id),
        "gravatar_id": "",
        "url": format!("{base}/users/{login}"),
        "html_url": format!("{base}/{login}"),
        "organizations_url": format!("{base}/users/{login}/orgs"),
        "repos_url": format!("{base}/users/{login}/repos"),
        "type": "User",
        "user_view_type": "public",
        "site_admin": false,
    })
}

fn org_simple(base: &str, directory: &Directory, org: usize) -> Value {
    let o = &directory.orgs[org];
    let login = &o.login;
    json!({
        "login": login,
        "id": o.id,
        "node_id": node_id("Organization", o.id),
        "url": format!("{base}/orgs/{login}"),
        "repos_url": format!("{base}/orgs/{login}/repos"),
        "events_url": format!("{base}/orgs/{login}/events"),
        "hooks_url": format!("{base}/orgs/{login}/hooks"),
        "issues_url": format!("{base}/orgs/{login}/issues"),
        "members_url": format!("{base}/orgs/{login}/members{{/member}}"),
        "public_members_url": format!("{base}/orgs/{login}/public_members{{/member}}"),
        "avatar_url": format!("{base}/avatars/u/{}?v=4", o.id),
        "description": null,
    })
}

/// The user's standing in an organization: the seed's for its own org, member for orgs the user
/// has a team in (that is how the seed names other orgs).
fn membership_in(state: &World, user: usize, org: usize) -> Membership {
    if org == SEED_ORG {
        return state.memberships[user];
    }
    let directory = &state.directory;
    if directory.users[user]
        .teams
        .iter()
        .any(|&t| directory.teams[t].org == org)
    {
        Membership::Member
    } else {
        Membership::None
    }
}

/// `GET /user`.
pub(crate) async fn user(
    State(emulator): State<Emulator>,
    Base(base): Base,
    headers: HeaderMap,
) -> Response {
    let (grant, rate) = match begin(&emulator, Endpoint::User, &headers, USER_DOCS).await {
        Ok(started) => started,
        Err(response) => return response,
    };
    let body = emulator.with_state(|state| {
        let mut body = user_simple(&base, &state.directory, grant.user);
        let extra = json!({
            "name": state.directory.users[grant.user].name,
            "company": null,
            "blog": "",
            "location": null,
            "email": null,
            "hireable": null,
            "bio": null,
            "twitter_username": null,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
        });
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        body
    });
    with_scopes(respond::api_json(StatusCode::OK, &body, rate), &grant)
}

/// `GET /orgs/{org}/memberships/{username}`.
pub(crate) async fn membership(
    State(emulator): State<Emulator>,
    Base(base): Base,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (grant, rate) =
        match begin(&emulator, Endpoint::Membership, &headers, MEMBERSHIP_DOCS).await {
            Ok(started) => started,
            Err(response) => return response,
        };
    let body = emulator.with_state(|state| {
        let directory = &state.directory;
        let org_index = directory
            .orgs
            .iter()
            .position(|o| o.login.eq_ignore_ascii_case(&org))?;
        let user = directory.user_index(&username)?;
        // Anyone sees their own membership; only active members see other people's. GitHub
        // answers 404 rather than revealing what the caller may not see.
        let own = user == grant.user;
        if !own && !membership_in(state, grant.user, org_index).is_active() {
            return None;
        }
        let (member_state, role) = match membership_in(state, user, org_index) {
            Membership::Admin => ("active", "admin"),
            Membership::Member => ("active", "member"),
            Membership::Pending => ("pending", "member"),
            Membership::None => return None,
        };
        let org_login = &directory.orgs[org_index].login;
        let login = &directory.users[user].login;
        Some(json!({
            "url": format!("{base}/orgs/{org_login}/memberships/{login}"),
            "state": member_state,
            "role": role,
            "organization_url": format!("{base}/orgs/{org_login}"),
            "organization": org_simple(&base, directory, org_index),
            "user": user_simple(&base, directory, user),
        }))
    });
    let response = match body {
        Some(body) => respond::api_json(StatusCode::OK, &body, rate),
        None => respond::api_error(StatusCode::NOT_FOUND, "Not Found", MEMBERSHIP_DOCS, rate),
    };
    with_scopes(response, &grant)
}

/// GitHub's `per_page` (default 30, at most 100) and `page` (from 1).
fn page_params(query: Option<&str>) -> (usize, usize) {
    let params = read_params(&HeaderMap::new(), query, &[]);
    let number = |key: &str| {
        params
            .get(key)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    let per_page = number("per_page").unwrap_or(30).min(100);
    let page = number("page").unwrap_or(1);
    (per_page, page)
}

/// One page of `items` and GitHub's `Link` header for it (none when everything fits one page).
fn paginate(
    items: Vec<Value>,
    per_page: usize,
    page: usize,
    url: &str,
) -> (Vec<Value>, Option<String>) {
    let last = items.len().div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let shown: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    if last == 1 && page == 1 {
        return (shown, None);
    }
    let link = |n: usize, rel: &str| format!("<{url}?per_page={per_page}&page={n}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page > 1 {
        links.push(link((page - 1).min(last), "prev"));
    }
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
    }
    (shown, Some(links.join(", ")))
}

fn list_answer(
    items: Vec<Value>,
    query: Option<&str>,
    url: &str,
    rate: RateHeaders,
    grant: &Grant,
) -> Response {
    let (per_page, page) = page_params(query);
    let (shown, link) = paginate(items, per_page, page, url);
    let mut response = respond::api_json(StatusCode::OK, &Value::Array(shown), rate);
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(LINK, value);
    }
    with_scopes(response, grant)
}

/// `GET /user/teams`: the caller's teams in organizations where the caller is an active member.
pub(crate) async fn teams(
    State(emulator): State<Emulator>,
    Base(base): Base,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (grant, rate) = match begin(&emulator, Endpoint::Teams, &headers, respond::REST_DOCS).await
    {
        Ok(started) => started,
        Err(response) => return response,
    };
    let items = emulator.with_state(|state| {
        let directory = &state.directory;
        directory.users[grant.user]
            .teams
            .iter()
            .map(|&t| &directory.teams[t])
            .filter(|team| membership_in(state, grant.user, team.org).is_active())
            .map(|team| {
                let org = &directory.orgs[team.org];
                let members = directory.users.iter().filter(|u| u.teams.iter().any(|&m| directory.teams[m].id == team.id)).count();
                let mut organization = org_simple(&base, directory, team.org);
                if let Value::Object(fields) = &mut organization {
                    fields.insert("name".into(), Value::from(org.login.as_str()));
                    fields.insert("html_url".into(), Value::from(format!("{base}/{}", org.login)));
                    fields.insert("type".into(), Value::from("Organization"));
                    fields.insert("created_at".into(), Value::from(CREATED_AT));
                    fields.insert("updated_at".into(), Value::from(CREATED_AT));
                }
                json!({
                    "id": team.id,
                    "node_id": node_id("Team", team.id),
                    "url": format!("{base}/organizations/{}/team/{}", org.id, team.id),
                    "html_url": format!("{base}/orgs/{}/teams/{}", org.login, team.slug),
                    "name": team.slug,
                    "slug": team.slug,
                    "description": null,
                    "privacy": "closed",
                    "notification_setting": "notifications_enabled",
                    "permission": "pull",
                    "members_url": format!("{base}/organizations/{}/team/{}/members{{/member}}", org.id, team.id),
                    "repositories_url": format!("{base}/organizations/{}/team/{}/repos", org.id, team.id),
                    "parent": null,
                    "members_count": members,
                    "repos_count": 0,
                    "created_at": CREATED_AT,
                    "updated_at": CREATED_AT,
                    "organization": organization,
                })
            })
            .collect::<Vec<_>>()
    });
    list_answer(
        items,
        query.as_deref(),
        &format!("{base}/user/teams"),
        rate,
        &grant,
    )
}

/// `GET /user/orgs`: organizations where the caller is an active member.
pub(crate) async fn orgs(
    State(emulator): State<Emulator>,
    Base(base): Base,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (grant, rate) = match begin(&emulator, Endpoint::Orgs, &headers, respond::REST_DOCS).await {
        Ok(started) => started,
        Err(response) => return response,
    };
    let items = emulator.with_state(|state| {
        (0..state.directory.orgs.len())
            .filter(|&org| membership_in(state, grant.user, org).is_active())
            .map(|org| org_simple(&base, &state.directory, org))
            .collect::<Vec<_>>()
    });
    list_answer(
        items,
        query.as_deref(),
        &format!("{base}/user/orgs"),
        rate,
        &grant,
    )
}

/// `GET /avatars/u/{id}`: a generated initial, so pages showing `avatar_url` need no network.
pub(crate) async fn avatar(State(emulator): State<Emulator>, Path(id): Path<String>) -> Response {
    let id: Option<u64> = id.parse().ok();
    let letter = emulator.with_state(|state| {
        let users = state.directory.users.iter().map(|u| (u.id, &u.login));
        let orgs = state.directory.orgs.iter().map(|o| (o.id, &o.login));
        users
            .chain(orgs)
            .find(|(known, _)| Some(*known) == id)
            .and_then(|(_, login)| login.chars().next())
            .map(|c| c.to_ascii_uppercase())
    });
    let Some(letter) = letter else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let hue = id.unwrap_or(0) * 47 % 360;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 64\">\
         <rect width=\"64\" height=\"64\" fill=\"hsl({hue},55%,45%)\"/>\
         <text x=\"32\" y=\"43\" font-family=\"sans-serif\" font-size=\"30\" fill=\"#fff\" \
         text-anchor=\"middle\">{letter}</text></svg>"
    );
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (CACHE_CONTROL, HeaderValue::from_static("max-age=300")),
        ],
        svg,
    )
        .into_response()
}

/// Anything else: GitHub's JSON 404.
pub(crate) async fn not_found(State(emulator): State<Emulator>) -> Response {
    let rate = emulator.with_state(|state| {
        let (limit, remaining, reset) = state.count_api_call(None);
        RateHeaders {
            limit,
            remaining,
            reset,
        }
    });
    respond::api_error(StatusCode::NOT_FOUND, "Not Found", respond::REST_DOCS, rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_githubs_legacy_format() {
        // GitHub's documented examples: user 1 and organization 1.
        assert_eq!(node_id("User", 1), "MDQ6VXNlcjE=");
        assert_eq!(node_id("Organization", 1), "MDEyOk9yZ2FuaXphdGlvbjE=");
    }

    #[test]
    fn both_authorization_schemes_are_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("token abc"));
        assert_eq!(token_from(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer xyz"));
        assert_eq!(token_from(&headers), Some("xyz"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(token_from(&headers), None);
    }

    #[test]
    fn pages_link_to_their_neighbours_like_github() {
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        let (shown, link) = paginate(items.clone(), 2, 2, "http://x/user/teams");
        assert_eq!(shown, [Value::from(2), Value::from(3)]);
        assert_eq!(
            link.as_deref(),
            Some(
                "<http://x/user/teams?per_page=2&page=1>; rel=\"prev\", \
                 <http://x/user/teams?per_page=2&page=3>; rel=\"next\", \
                 <http://x/user/teams?per_page=2&page=3>; rel=\"last\", \
                 <http://x/user/teams?per_page=2&page=1>; rel=\"first\""
            )
        );
        let (_, single) = paginate(items, 30, 1, "http://x/user/teams");
        assert_eq!(single, None);
    }

    #[test]
    fn per_page_is_capped_at_one_hundred() {
        assert_eq!(page_params(Some("per_page=500&page=2")), (100, 2));
        assert_eq!(page_params(Some("per_page=abc&page=0")), (30, 1));
        assert_eq!(page_params(None), (30, 1));
    }
}
