//! The operator's users, their tokens and console sessions, and the operator activity log (its chain's head in
//! the one row of `operator_chain`, locked by every append and always taken after any partner's chain lock).

use super::*;
use domain::ids::OperatorId;
use domain::operator::{Operator, OperatorRecord, OperatorRoles};

const OPERATOR_COLS: &str = "o.id AS o_id, o.email AS o_email, o.display_name AS o_display_name, o.roles AS o_roles, \
    o.disabled AS o_disabled, o.created_at AS o_created_at";

fn operator_from(row: &AnyRow) -> StoreResult<Operator> {
    let roles: String = row.try_get("o_roles")?;
    Ok(Operator {
        id: OperatorId(uuid_col(row, "o_id")?),
        email: row.try_get("o_email")?,
        display_name: row.try_get("o_display_name")?,
        roles: OperatorRoles::from_stored(&roles).ok_or_else(|| corrupt("operators.roles"))?,
        disabled: flag(row, "o_disabled")?,
        created_at: ts(row, "o_created_at")?,
    })
}

const RECORD_COLS: &str = "id, seq, operator_id, principal, operation, partner_id, at, data, prev_hash, hash";

fn record_from(row: &AnyRow) -> StoreResult<OperatorRecord> {
    let operator: Option<String> = row.try_get("operator_id")?;
    let partner: Option<String> = row.try_get("partner_id")?;
    let data: String = row.try_get("data")?;
    Ok(OperatorRecord {
        id: AuditRecordId(uuid_col(row, "id")?),
        seq: row.try_get("seq")?,
        operator_id: operator
            .map(|s| OperatorId::parse(&s).ok_or_else(|| corrupt("operator_activity.operator_id")))
            .transpose()?,
        principal: row.try_get("principal")?,
        operation: row.try_get("operation")?,
        partner_id: partner
            .map(|s| PartnerId::parse(&s).ok_or_else(|| corrupt("operator_activity.partner_id")))
            .transpose()?,
        at: ts(row, "at")?,
        data: serde_json::from_str(&data).map_err(|_| corrupt("operator_activity.data"))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn token_from(row: &AnyRow) -> StoreResult<OperatorToken> {
    Ok(OperatorToken {
        id: TokenId(uuid_col(row, "id")?),
        operator_id: OperatorId(uuid_col(row, "operator_id")?),
        name: row.try_get("name")?,
        created_at: ts(row, "created_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp::from_micros),
    })
}

impl SqlStore {
    /// Appends the operator's records to its chain and completes the idempotency record, inside the change's own
    /// transaction, then commits. For changes that touch no partner's chain.
    pub(super) async fn commit_operator(&self, mut tx: Tx, effects: Effects) -> StoreResult<()> {
        debug_assert!(effects.audit.is_empty(), "partner records need the partner's chain: use commit_with");
        self.append_operator_records(&mut tx, effects.operator).await?;
        if let Some(done) = effects.idempotency {
            idempotency::complete_idempotency(&mut tx, done).await?;
        }
        tx.commit().await
    }

    /// Appends records to the operator chain under its row lock (PostgreSQL; SQLite's writer is alone anyway). A
    /// rolled-back job of SQLite's batch rolls its append back with its savepoint.
    pub(super) async fn append_operator_records(
        &self,
        tx: &mut Tx,
        records: Vec<domain::operator::NewOperatorRecord>,
    ) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let sql = format!("SELECT seq, head FROM operator_chain WHERE id = 1{}", self.for_update());
        let row = sqlx::query(&sql).fetch_one(&mut **tx).await?;
        let (mut seq, mut head): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        for new in records {
            seq += 1;
            let r = OperatorRecord::seal(seq, &head, new);
            sqlx::query(&format!(
                "INSERT INTO operator_activity ({RECORD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(r.id.to_string())
            .bind(r.seq)
            .bind(r.operator_id.map(|o| o.to_string()))
            .bind(&r.principal)
            .bind(&r.operation)
            .bind(r.partner_id.map(|p| p.to_string()))
            .bind(r.at.micros())
            .bind(serde_json::to_string(&r.data).map_err(|_| corrupt("operator_activity.data"))?)
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .execute(&mut **tx)
            .await?;
            head = r.hash;
        }
        sqlx::query("UPDATE operator_chain SET seq = $1, head = $2 WHERE id = 1")
            .bind(seq)
            .bind(&head)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl OperatorStore for SqlStore {
    async fn create_operator(&self, o: &Operator, password_hash: Option<&str>, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let result = sqlx::query(
            "INSERT INTO operators (id, email, email_folded, display_name, roles, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(o.id.to_string())
        .bind(&o.email)
        .bind(o.email_folded())
        .bind(&o.display_name)
        .bind(o.roles.to_stored())
        .bind(password_hash.map(str::to_string))
        .bind(o.disabled as i64)
        .bind(o.created_at.micros())
        .execute(&mut *tx)
        .await;
        unless_unique(result, || StoreError::Conflict("an operator user with this email already exists".into()))?;
        self.commit_operator(tx, effects).await
    }

    async fn get_operator(&self, id: OperatorId) -> StoreResult<Option<Operator>> {
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators o WHERE o.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.read).await?;
        row.as_ref().map(operator_from).transpose()
    }

    async fn page_operators(&self, limit: u32, after: Option<&Cursor>) -> StoreResult<Vec<Operator>> {
        let mut sql = format!("SELECT {OPERATOR_COLS} FROM operators o WHERE 1 = 1");
        if after.is_some() {
            sql.push_str(&keyset("o.created_at", "o.id", 1));
        }
        sql.push_str(&format!(" ORDER BY o.created_at, o.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql);
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(operator_from).collect()
    }

    async fn update_operator(
        &self,
        id: OperatorId,
        patch: &OperatorPatch,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Operator> {
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators o WHERE o.id = $1{}", self.for_update());
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let mut o = operator_from(&row)?;
        if let Some(n) = &patch.display_name {
            o.display_name = n.clone();
        }
        if let Some(r) = &patch.roles {
            o.roles = r.clone();
        }
        if let Some(d) = patch.disabled {
            o.disabled = d;
        }
        sqlx::query("UPDATE operators SET display_name = $1, roles = $2, disabled = $3 WHERE id = $4")
            .bind(&o.display_name)
            .bind(o.roles.to_stored())
            .bind(o.disabled as i64)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if let Some(hash) = &patch.password_hash {
            sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if patch.disabled == Some(true) || patch.password_hash.is_some() {
            // A disabled operator user, or one whose password changed, is signed out everywhere.
            sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if patch.disabled == Some(true) {
            sqlx::query("UPDATE operator_tokens SET revoked_at = $1 WHERE operator_id = $2 AND revoked_at IS NULL")
                .bind(now.micros())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        self.commit_operator(tx, effects).await?;
        Ok(o)
    }

    async fn set_operator_language(&self, id: OperatorId, language: Option<&str>) -> StoreResult<()> {
        let mut tx = self.begin_single().await?;
        let n = sqlx::query("UPDATE operators SET language = $1 WHERE id = $2")
            .bind(language.map(str::to_string))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }

    async fn create_operator_token(&self, t: &OperatorToken, token_hash: &str, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO operator_tokens (id, operator_id, name, token_hash, created_at) \
             SELECT $1, id, $2, $3, $4 FROM operators WHERE id = $5 AND disabled = 0",
        )
        .bind(t.id.to_string())
        .bind(&t.name)
        .bind(token_hash)
        .bind(t.created_at.micros())
        .bind(t.operator_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_operator(tx, effects).await
    }

    async fn list_operator_tokens(&self, operator: OperatorId) -> StoreResult<Vec<OperatorToken>> {
        sqlx::query(
            "SELECT id, operator_id, name, created_at, revoked_at FROM operator_tokens \
             WHERE operator_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(operator.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(token_from)
        .collect()
    }

    async fn revoke_operator_token(
        &self,
        operator: OperatorId,
        id: TokenId,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE operator_tokens SET revoked_at = $1 WHERE operator_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now.micros())
        .bind(operator.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.commit_operator(tx, effects).await
    }

    async fn record_operator_activity(&self, effects: Effects) -> StoreResult<()> {
        let tx = self.begin().await?;
        self.commit_operator(tx, effects).await
    }

    async fn operator_log(&self, limit: u32, before_seq: Option<i64>) -> StoreResult<Vec<OperatorRecord>> {
        let sql = format!("SELECT {RECORD_COLS} FROM operator_activity WHERE seq < $1 ORDER BY seq DESC LIMIT {limit}");
        sqlx::query(&sql)
            .bind(before_seq.unwrap_or(i64::MAX))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(record_from)
            .collect()
    }

    async fn operator_chain(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<OperatorRecord>> {
        let sql = format!("SELECT {RECORD_COLS} FROM operator_activity WHERE seq > $1 ORDER BY seq LIMIT {limit}");
        sqlx::query(&sql).bind(after_seq).fetch_all(&self.read).await?.iter().map(record_from).collect()
    }

    async fn operator_chain_head(&self) -> StoreResult<(i64, String)> {
        let row = sqlx::query("SELECT seq, head FROM operator_chain WHERE id = 1").fetch_one(&self.read).await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

#[async_trait]
impl OperatorAccessStore for SqlStore {
    async fn operator_credentials(&self, email_folded: &str) -> StoreResult<Option<OperatorCredentials>> {
        let sql = format!(
            "SELECT {OPERATOR_COLS}, o.password_hash AS o_password_hash FROM operators o WHERE o.email_folded = $1"
        );
        let row = sqlx::query(&sql).bind(email_folded).fetch_optional(&self.read).await?;
        row.map(|r| {
            Ok(OperatorCredentials { operator: operator_from(&r)?, password_hash: r.try_get("o_password_hash")? })
        })
        .transpose()
    }

    async fn authenticate_operator(&self, token_hash: &str) -> StoreResult<Option<(TokenId, Operator)>> {
        let sql = format!(
            "SELECT t.id AS t_id, {OPERATOR_COLS} FROM operator_tokens t JOIN operators o ON o.id = t.operator_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND o.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(|r| Ok((TokenId(uuid_col(&r, "t_id")?), operator_from(&r)?))).transpose()
    }

    async fn create_operator_session(
        &self,
        token_hash: &str,
        operator: OperatorId,
        csrf: &str,
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO operator_sessions (token_hash, operator_id, csrf, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash)
        .bind(operator.to_string())
        .bind(csrf)
        .bind(now.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_operator(tx, effects).await
    }

    async fn operator_session(&self, token_hash: &str) -> StoreResult<Option<LiveOperatorSession>> {
        let sql = format!(
            "SELECT {OPERATOR_COLS}, s.csrf AS s_csrf, s.last_seen_at AS s_last_seen_at, o.language AS o_language \
             FROM operator_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.token_hash = $1 AND o.disabled = 0"
        );
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(|r| {
            Ok(LiveOperatorSession {
                operator: operator_from(&r)?,
                csrf: r.try_get("s_csrf")?,
                last_seen: ts(&r, "s_last_seen_at")?,
                language: r.try_get("o_language")?,
            })
        })
        .transpose()
    }

    async fn touch_operator_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        self.touch_session_row(super::users::SessionTable::Operator, token_hash, now).await
    }

    async fn delete_operator_session(&self, token_hash: &str) -> StoreResult<()> {
        self.delete_session_row(super::users::SessionTable::Operator, token_hash).await
    }
}
