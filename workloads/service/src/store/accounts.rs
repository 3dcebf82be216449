//! Organisations and users (passwords stored as Argon2 hashes only).

use super::{new_id, now, DbError, Store};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    BidManager,
    TechnicalSpecialist,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::BidManager => "bid_manager",
            Role::TechnicalSpecialist => "technical_specialist",
            Role::Supervisor => "supervisor",
        }
    }
    pub fn parse(text: &str) -> Option<Role> {
        [
            Role::BidManager,
            Role::TechnicalSpecialist,
            Role::Supervisor,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub role: Role,
    password_hash: String,
}

impl User {
    pub fn password_matches(&self, password: &str) -> bool {
        PasswordHash::new(&self.password_hash)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

fn hash_password(password: &str) -> Result<String, DbError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DbError::Protocol(format!("password hashing failed: {e}")))
}

impl Store {
    pub async fn create_organisation(&self, name: &str) -> Result<String, DbError> {
        let id = new_id();
        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    pub async fn create_user(
        &self,
        org_id: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<String, DbError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO users (id, org_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(email.trim().to_lowercase())
        .bind(hash_password(password)?)
        .bind(role.as_str())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, DbError> {
        let row = sqlx::query(
            "SELECT id, org_id, email, password_hash, role FROM users WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, DbError> {
        let row =
            sqlx::query("SELECT id, org_id, email, password_hash, role FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    /// Marks `user` as seen at `at` (an authenticated request); never moves `last_seen` backwards.
    pub async fn touch_last_seen(&self, user: &str, at: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE users SET last_seen = $1 WHERE id = $2 AND (last_seen IS NULL OR last_seen < $1)",
        )
        .bind(at)
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Users whose last request was at or after `since`.
    pub async fn count_active_users(&self, since: i64) -> Result<i64, DbError> {
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE last_seen >= $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")
    }

    /// The instance secret `name`, stored as `candidate` on first use. The first writer wins, so processes
    /// starting together on one database agree on the value.
    pub async fn instance_secret(&self, name: &str, candidate: &str) -> Result<String, DbError> {
        sqlx::query(
            "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now())
        .execute(&self.pool)
        .await?;
        sqlx::query("SELECT value FROM instance_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?
            .try_get("value")
    }

    /// Creates the first organisation and its supervisor from ADMIN_EMAIL/ADMIN_PASSWORD when no user exists yet.
    /// Returns true when an admin was created.
    pub async fn ensure_first_admin(&self, email: &str, password: &str) -> Result<bool, DbError> {
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        if count > 0 {
            return Ok(false);
        }
        let org = self.create_organisation("默认组织").await?;
        self.create_user(&org, email, password, Role::Supervisor)
            .await?;
        self.audit(Some(&org), None, "admin.created", Some(email), None)
            .await?;
        Ok(true)
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, DbError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role)
            .ok_or_else(|| DbError::Protocol(format!("unknown role {role:?} in users table")))?,
        password_hash: row.try_get("password_hash")?,
    })
}
