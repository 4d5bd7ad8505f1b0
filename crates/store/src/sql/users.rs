//! Users, API tokens, dashboard sessions and sign-in throttling.

use super::*;

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(
        &self,
        scope: PartnerScope,
        user: &User,
        password_hash: Option<&str>,
        effects: Effects,
    ) -> StoreResult<()> {
        if user.partner_id != scope.partner_id() {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.begin().await?;
        let result = sqlx::query(
            "INSERT INTO users (id, partner_id, email, email_folded, display_name, roles, password_hash, disabled, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.id.to_string())
        .bind(scope.partner_id().to_string())
        .bind(&user.email)
        .bind(user.email_folded())
        .bind(&user.display_name)
        .bind(user.roles.to_stored())
        .bind(password_hash.map(str::to_string))
        .bind(user.disabled as i64)
        .bind(user.created_at.micros())
        .execute(&mut *tx)
        .await;
        unless_unique(result, || StoreError::Conflict("a user with this email already exists".into()))?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_user(&self, scope: PartnerScope, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1 AND u.id = $2");
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self, scope: PartnerScope, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<User>> {
        let mut sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1");
        if after.is_some() {
            sql.push_str(&keyset("u.created_at", "u.id", 2));
        }
        sql.push_str(&format!(" ORDER BY u.created_at, u.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(user_from).collect()
    }

    async fn update_user(
        &self,
        scope: PartnerScope,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.partner_id = $1 AND u.id = $2{}", self.for_update());
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut user = user_from(&row)?;
        if let Some(n) = &patch.display_name {
            user.display_name = n.clone();
        }
        if let Some(r) = &patch.roles {
            user.roles = r.clone();
        }
        if let Some(d) = patch.disabled {
            user.disabled = d;
        }
        sqlx::query("UPDATE users SET display_name = $1, roles = $2, disabled = $3 WHERE id = $4")
            .bind(&user.display_name)
            .bind(user.roles.to_stored())
            .bind(user.disabled as i64)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if patch.disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.to_string()).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE partner_id = $2 AND user_id = $3 AND revoked_at IS NULL",
            )
            .bind(now.micros())
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(user)
    }

    async fn create_token(
        &self,
        scope: PartnerScope,
        t: &ApiToken,
        token_hash: &str,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // The user is looked up in the scope's partner by the insert itself: another partner's user gets no token.
        let n = sqlx::query(
            "INSERT INTO api_tokens (id, partner_id, user_id, name, token_hash, created_at) \
             SELECT $1, partner_id, id, $2, $3, $4 FROM users WHERE partner_id = $5 AND id = $6",
        )
        .bind(t.id.to_string())
        .bind(&t.name)
        .bind(token_hash)
        .bind(t.created_at.micros())
        .bind(scope.partner_id().to_string())
        .bind(t.user_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 || t.partner_id != scope.partner_id() {
            return Err(StoreError::NotFound);
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn list_tokens(
        &self,
        scope: PartnerScope,
        user: UserId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<ApiToken>> {
        let mut sql = String::from(
            "SELECT id, partner_id, user_id, name, created_at, revoked_at FROM api_tokens \
             WHERE partner_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        );
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", 3));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(user.to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(token_from).collect()
    }

    async fn revoke_token(
        &self,
        scope: PartnerScope,
        user: UserId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE partner_id = $2 AND user_id = $3 AND id = $4 \
             AND revoked_at IS NULL",
        )
        .bind(now.micros())
        .bind(scope.partner_id().to_string())
        .bind(user.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn set_user_language(&self, scope: PartnerScope, user: UserId, language: Option<&str>) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        let n = sqlx::query("UPDATE users SET language = $1 WHERE partner_id = $2 AND id = $3")
            .bind(language.map(str::to_string))
            .bind(scope.partner_id().to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }

    async fn create_session(
        &self,
        scope: PartnerScope,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        // The user is looked up in the scope's partner by the insert itself.
        let mut tx = self.begin_single().await?;
        let n = sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen_at) \
             SELECT $1, id, $2, $3, $3 FROM users WHERE partner_id = $4 AND id = $5",
        )
        .bind(token_hash)
        .bind(csrf)
        .bind(now.micros())
        .bind(scope.partner_id().to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }
}

#[async_trait]
impl SignInStore for SqlStore {
    async fn credentials_by_email(&self, email_folded: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLS}, {PARTNER_COLS}, u.password_hash AS u_password_hash \
             FROM users u JOIN partners p ON p.id = u.partner_id WHERE u.email_folded = $1"
        );
        let row = sqlx::query(&sql).bind(email_folded).fetch_optional(&self.read).await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(Credentials {
                user: user_from(&row)?,
                partner: partner_from(&row)?,
                password_hash: row.try_get("u_password_hash")?,
            })),
        }
    }

    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(TokenId, User, Partner)>> {
        let sql = format!(
            "SELECT t.id AS t_id, {USER_COLS}, {PARTNER_COLS} FROM api_tokens t \
             JOIN users u ON u.id = t.user_id JOIN partners p ON p.id = t.partner_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = $2"
        );
        let row = sqlx::query(&sql).bind(token_hash).bind(0_i64).fetch_optional(&self.read).await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((TokenId(uuid_col(&row, "t_id")?), user_from(&row)?, partner_from(&row)?))),
        }
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<LiveSession>> {
        let sql = format!(
            "SELECT {USER_COLS}, {PARTNER_COLS}, s.csrf AS s_csrf, s.last_seen_at AS s_last_seen_at, \
             u.language AS u_language FROM sessions s \
             JOIN users u ON u.id = s.user_id JOIN partners p ON p.id = u.partner_id \
             WHERE s.token_hash = $1 AND u.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(|r| {
            Ok(LiveSession {
                user: user_from(&r)?,
                partner: partner_from(&r)?,
                csrf: r.try_get("s_csrf")?,
                last_seen: ts(&r, "s_last_seen_at")?,
                language: r.try_get("u_language")?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        self.touch_session_row(SessionTable::Partner, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.delete_session_row(SessionTable::Partner, token_hash).await
    }

    async fn record_sign_in_failure(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        // A window that has passed starts again at one; otherwise the count grows. One statement, so concurrent
        // failures are all counted.
        let mut tx = self.begin_single().await?;
        let row = sqlx::query(
            "INSERT INTO sign_in_failures (key, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN sign_in_failures.window_start <= $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
             window_start = CASE WHEN sign_in_failures.window_start <= $3 THEN $2 ELSE sign_in_failures.window_start END \
             RETURNING failures",
        )
        .bind(key)
        .bind(now.micros())
        .bind(now.micros() - window_micros)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.try_get("failures")?)
    }

    async fn sign_in_failures(&self, key: &str, now: Timestamp, window_micros: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT failures FROM sign_in_failures WHERE key = $1 AND window_start > $2")
            .bind(key)
            .bind(now.micros() - window_micros)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("failures")).transpose()?.unwrap_or(0))
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1").bind(key).execute(&mut *tx).await?;
        tx.commit().await
    }
}

/// Whose sessions: the dashboard's (`sessions`) or the console's (`operator_sessions`); the same columns.
#[derive(Clone, Copy)]
pub(super) enum SessionTable {
    Partner,
    Operator,
}

impl SessionTable {
    fn name(self) -> &'static str {
        match self {
            SessionTable::Partner => "sessions",
            SessionTable::Operator => "operator_sessions",
        }
    }
}

impl SqlStore {
    /// A session's last request, for its idle timeout.
    pub(super) async fn touch_session_row(
        &self,
        table: SessionTable,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        let sql = format!("UPDATE {} SET last_seen_at = $1 WHERE token_hash = $2", table.name());
        sqlx::query(&sql).bind(now.micros()).bind(token_hash).execute(&mut *tx).await?;
        tx.commit().await
    }

    /// Signs a session out.
    pub(super) async fn delete_session_row(&self, table: SessionTable, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        let sql = format!("DELETE FROM {} WHERE token_hash = $1", table.name());
        sqlx::query(&sql).bind(token_hash).execute(&mut *tx).await?;
        tx.commit().await
    }
}
