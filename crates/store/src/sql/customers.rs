//! Customers (tenants) of a partner: numbered in commit order, searched by folded columns, billing under an ETag.

use super::*;
use domain::customer::fold;
use domain::filter::{like_pattern, CustomerField};

#[async_trait]
impl CustomerStore for SqlStore {
    async fn create_customer(&self, scope: PartnerScope, c: &Customer, effects: Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Say which of the two unique keys is taken; the unique indexes stay the guard under races.
        let taken = sqlx::query(
            "SELECT tenant_id, domain FROM customers WHERE partner_id = $1 AND (tenant_id = $2 OR domain = $3)",
        )
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(&c.domain)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = taken {
            let tenant: String = row.try_get(0)?;
            return Err(StoreError::Conflict(if tenant == c.tenant_id.to_string() {
                format!("a customer with tenant id {} already exists", c.tenant_id)
            } else {
                format!("a customer with domain {} already exists", c.domain)
            }));
        }
        // Numbered under the partner row's lock, so positions follow commit order.
        let position: i64 = sqlx::query(
            "UPDATE partners SET customer_count = customer_count + 1 WHERE id = $1 RETURNING customer_count",
        )
        .bind(scope.partner_id().to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let result = sqlx::query(
            "INSERT INTO customers (partner_id, tenant_id, company_name, company_name_folded, domain, billing_email, \
             billing_company_name, address_json, market, created_at, position, billing_json, profile_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(&c.company_name)
        .bind(fold(&c.company_name))
        .bind(&c.domain)
        .bind(&c.billing_email)
        .bind(&c.billing_company_name)
        .bind(serde_json::to_string(&c.address).map_err(|_| corrupt("address"))?)
        .bind(c.market.as_str())
        .bind(c.created_at.micros())
        .bind(position)
        .bind(serde_json::to_string(&c.billing).map_err(|_| corrupt("billing"))?)
        .bind(c.profile_version)
        .execute(&mut *tx)
        .await;
        unless_unique(result, || {
            StoreError::Conflict("a customer with this tenant id or domain already exists".into())
        })?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn update_customer_billing(
        &self,
        scope: PartnerScope,
        c: &Customer,
        expected_version: i64,
        effects: Effects,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Compare-and-set on the version: of two writers that read the same profile, the second is refused.
        let changed = sqlx::query(
            "UPDATE customers SET billing_email = $1, billing_company_name = $2, address_json = $3, billing_json = $4, \
             profile_version = $5 WHERE partner_id = $6 AND tenant_id = $7 AND profile_version = $8",
        )
        .bind(&c.billing_email)
        .bind(&c.billing_company_name)
        .bind(serde_json::to_string(&c.address).map_err(|_| corrupt("address"))?)
        .bind(serde_json::to_string(&c.billing).map_err(|_| corrupt("billing"))?)
        .bind(c.profile_version)
        .bind(scope.partner_id().to_string())
        .bind(c.tenant_id.to_string())
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            let exists = sqlx::query("SELECT 1 FROM customers WHERE partner_id = $1 AND tenant_id = $2")
                .bind(scope.partner_id().to_string())
                .bind(c.tenant_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                StoreError::Refused(domain::DomainError::PreconditionFailed)
            } else {
                StoreError::NotFound
            });
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_customer(&self, scope: PartnerScope, id: TenantId) -> StoreResult<Option<Customer>> {
        let sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE partner_id = $1 AND tenant_id = $2");
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(customer_from).transpose()
    }

    async fn list_customers(
        &self,
        scope: PartnerScope,
        filter: Option<&CustomerFilter>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Customer>> {
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers WHERE partner_id = $1");
        let mut next = 2;
        if let Some(f) = filter {
            let col = match f.field {
                CustomerField::CompanyName => "company_name_folded",
                CustomerField::Domain => "domain",
                CustomerField::TenantId => "tenant_id",
            };
            sql.push_str(&format!(" AND {col} LIKE ${next} ESCAPE '\\'"));
            next += 1;
        }
        if after.is_some() {
            sql.push_str(&format!(" AND position > ${next}"));
        }
        sql.push_str(&format!(" ORDER BY position LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string());
        if let Some(f) = filter {
            q = q.bind(like_pattern(f.operator, &f.value));
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros());
        }
        q.fetch_all(&self.read).await?.iter().map(customer_from).collect()
    }
}
