//! Login (email + password -> JWT) and the `AuthUser` extractor every protected handler takes.
//! Tokens carry user, organisation and role; organisation isolation is enforced by the store's queries.

use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::store::accounts::Role;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    org: String,
    role: Role,
    exp: i64,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub org_id: String,
    pub role: Role,
}

impl AuthUser {
    pub fn require(&self, allowed: &[Role]) -> ApiResult<()> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = allowed.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "this action needs the role {}",
                names.join(" or ")
            )))
        }
    }
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let data = decode::<Claims>(token.trim(), &state.keys.decoding, &Validation::default())
            .map_err(|_| ApiError::Unauthorized)?;
        // aibid_active_users counts last_seen in the database; a failed write costs the count, not the request.
        let now = crate::store::now();
        if state.metrics.last_seen_due(&data.claims.sub, now) {
            if let Err(e) = state.store.touch_last_seen(&data.claims.sub, now).await {
                tracing::warn!(error = %e, "last_seen not stored");
            }
        }
        Ok(AuthUser {
            id: data.claims.sub,
            org_id: data.claims.org,
            role: data.claims.role,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub role: Role,
    pub email: String,
}

#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = super::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let user = state.store.user_by_email(&body.email).await?;
    // Same answer for unknown user and wrong password: no account enumeration.
    let user = user
        .filter(|u| u.password_matches(&body.password))
        .ok_or(ApiError::Unauthorized)?;
    let claims = Claims {
        sub: user.id.clone(),
        org: user.org_id.clone(),
        role: user.role,
        exp: crate::store::now() + TOKEN_LIFETIME_SECS,
    };
    let token = encode(&Header::default(), &claims, &state.keys.encoding)
        .map_err(|e| ApiError::Internal(e.into()))?;
    state
        .store
        .audit(Some(&user.org_id), Some(&user.id), "user.login", None, None)
        .await?;
    Ok(Json(LoginResponse {
        token,
        role: user.role,
        email: user.email,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub id: String,
}

/// Supervisors add users to their own organisation.
#[utoipa::path(post, path = "/api/users", request_body = NewUser, responses((status = 201, body = CreatedUser)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: AuthUser,
    Json(body): Json<NewUser>,
) -> ApiResult<(axum::http::StatusCode, Json<CreatedUser>)> {
    caller.require(&[Role::Supervisor])?;
    if !body.email.contains('@') {
        return Err(ApiError::BadRequest(
            "email: expected an e-mail address".into(),
        ));
    }
    if body.password.chars().count() < 8 {
        return Err(ApiError::BadRequest(
            "password: must be at least 8 characters".into(),
        ));
    }
    if state.store.user_by_email(&body.email).await?.is_some() {
        return Err(ApiError::Conflict(
            "a user with this email already exists".into(),
        ));
    }
    let id = state
        .store
        .create_user(&caller.org_id, &body.email, &body.password, body.role)
        .await?;
    state
        .store
        .audit(
            Some(&caller.org_id),
            Some(&caller.id),
            "user.created",
            Some(&id),
            Some(body.role.as_str()),
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(CreatedUser { id })))
}
