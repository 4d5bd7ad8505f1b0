//! Carts, checkout (order, lines, charges, software items and keys in one transaction) and reading orders back.

use super::*;

impl SqlStore {
    /// A customer's order lines matching `which` (SQL over `l`, the line), with their order id and purchase
    /// instant, by (purchase instant, order id, line number). The cursor's id is `{orderId}:{lineNumber}`.
    pub(super) async fn customer_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        which: &str,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        let cols = LINE_COLS.split(", ").map(|c| format!("l.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let mut sql = format!(
            "SELECT {cols}, o.created_at AS purchased_at FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.partner_id = $1 AND o.customer_id = $2 AND {which}"
        );
        // The cursor's id is `{orderId}:{lineNumber}` (the services build it; anything else is a bad token).
        let after = match after {
            Some(c) => {
                let (order, line) = c.id.rsplit_once(':').ok_or_else(bad_cursor)?;
                let line: i64 = line.parse().map_err(|_| bad_cursor())?;
                sql.push_str(
                    " AND (o.created_at > $3 OR (o.created_at = $3 AND (o.id > $4 OR (o.id = $4 \
                     AND l.line_number > $5))))",
                );
                Some((c.at.micros(), order.to_string(), line))
            }
            None => None,
        };
        sql.push_str(&format!(" ORDER BY o.created_at, o.id, l.line_number LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some((at, order, line)) = after {
            q = q.bind(at).bind(order).bind(line);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let (order_id, line) = order_line_from(row)?;
                let order_id = OrderId::parse(&order_id).ok_or_else(|| corrupt("order_lines.order_id"))?;
                Ok((order_id, Timestamp::from_micros(row.try_get("purchased_at")?), line))
            })
            .collect()
    }

    /// Hands each item that needs one an activation key of its line's SKU, oldest key first, in one statement per
    /// SKU (on PostgreSQL a key another checkout holds is skipped, never shared); `items[i]` is of `lines[i]`.
    /// Returns each item's key (`None` for an item without one), or refuses the whole order when a SKU has too few.
    async fn assign_keys(
        &self,
        tx: &mut Tx,
        items: &[NewSoftwareItem],
        lines: &[&domain::order::OrderLine],
    ) -> StoreResult<Vec<Option<String>>> {
        let mut keys: Vec<Option<String>> = vec![None; items.len()];
        let mut done = vec![false; items.len()];
        for first in 0..items.len() {
            if !items[first].needs_key || done[first] {
                continue;
            }
            let (product, sku) = (&lines[first].product_id, &lines[first].sku_id);
            // This SKU's items, in order: the n-th gets the n-th oldest free key.
            let same: Vec<usize> = (first..items.len())
                .filter(|&i| items[i].needs_key && &lines[i].product_id == product && &lines[i].sku_id == sku)
                .collect();
            for &i in &same {
                done[i] = true;
            }
            for chunk in same.chunks(ROWS_PER_INSERT) {
                let sql = format!(
                    "UPDATE activation_keys SET software_item_id = pick.item FROM (SELECT f.id AS key_id, \
                     i.column1 AS item FROM (SELECT id, row_number() OVER (ORDER BY added_at, id) AS n FROM \
                     (SELECT id, added_at FROM activation_keys WHERE product_id = $1 AND sku_id = $2 \
                     AND software_item_id IS NULL ORDER BY added_at, id LIMIT {m}{skip_locked}) free) f \
                     JOIN (VALUES {values}) i ON i.column2 = f.n) pick \
                     WHERE activation_keys.id = pick.key_id AND activation_keys.software_item_id IS NULL \
                     RETURNING id, software_item_id",
                    m = chunk.len(),
                    skip_locked = self.backend.skip_locked(),
                    values =
                        (0..chunk.len()).map(|n| format!("(${}, {})", n + 3, n + 1)).collect::<Vec<_>>().join(", "),
                );
                let mut q = sqlx::query(&sql).bind(product).bind(sku);
                for &i in chunk {
                    q = q.bind(items[i].id.to_string());
                }
                for row in q.fetch_all(&mut **tx).await? {
                    let (key, item): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                    if let Some(&i) = chunk.iter().find(|&&i| items[i].id.to_string() == item) {
                        keys[i] = Some(key);
                    }
                }
                if let Some(&short) = chunk.iter().find(|&&i| keys[i].is_none()) {
                    let line = lines[short];
                    return Err(StoreError::Refused(domain::DomainError::InsufficientKeyStock(format!(
                        "no activation key left for {}:{} (line {}); nothing was ordered",
                        line.product_id, line.sku_id, line.line_number
                    ))));
                }
            }
        }
        Ok(keys)
    }

    /// Orders of one customer (one, or a keyset page) with their lines, in two queries.
    pub(super) async fn orders_where(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: Option<OrderId>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>> {
        let mut sql = format!("SELECT {} FROM orders WHERE partner_id = $1 AND customer_id = $2", ORDER_COLS);
        let mut next = 3;
        if id.is_some() {
            sql.push_str(&format!(" AND id = ${next}"));
            next += 1;
        }
        if after.is_some() {
            sql.push_str(&keyset("created_at", "id", next));
        }
        sql.push_str(&format!(" ORDER BY created_at, id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some(id) = id {
            q = q.bind(id.to_string());
        }
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        let rows = q.fetch_all(&self.read).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT {} FROM order_lines WHERE order_id IN ({}) ORDER BY order_id, line_number",
            LINE_COLS,
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(id.clone());
        }
        let mut lines: std::collections::HashMap<String, Vec<domain::order::OrderLine>> = Default::default();
        for row in q.fetch_all(&self.read).await? {
            let (order_id, line) = order_line_from(&row)?;
            lines.entry(order_id).or_default().push(line);
        }
        rows.iter().zip(ids).map(|(row, id)| order_from(row, lines.remove(&id).unwrap_or_default())).collect()
    }
}

#[async_trait]
impl OrderStore for SqlStore {
    async fn find_order(&self, scope: PartnerScope, id: OrderId) -> StoreResult<Option<Order>> {
        let row = sqlx::query("SELECT customer_id FROM orders WHERE partner_id = $1 AND id = $2")
            .bind(scope.partner_id().to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let customer = TenantId(uuid_col(&r, "customer_id")?);
                Ok(self.orders_where(scope, customer, Some(id), 1, None).await?.pop())
            }
        }
    }

    async fn create_cart(&self, scope: PartnerScope, cart: &Cart, effects: Effects) -> StoreResult<()> {
        // One statement: it needs a transaction of its own only to write effects with it.
        let mut tx = if effects.is_empty() { self.begin_single().await? } else { self.begin().await? };
        sqlx::query(
            "INSERT INTO carts (id, partner_id, customer_id, status, line_items, order_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
        )
        .bind(cart.id.to_string())
        .bind(scope.partner_id().to_string())
        .bind(cart.customer_id.to_string())
        .bind(cart.status.as_str())
        .bind(lines_json(&cart.lines)?)
        .bind(cart.created_at.micros())
        .bind(cart.updated_at.micros())
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_cart(&self, scope: PartnerScope, customer: TenantId, id: CartId) -> StoreResult<Option<Cart>> {
        let sql = format!("SELECT {} FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3", CART_COLS);
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(cart_from).transpose()
    }

    async fn open_cart(&self, scope: PartnerScope, customer: TenantId) -> StoreResult<Option<Cart>> {
        let sql = format!(
            "SELECT {} FROM carts WHERE partner_id = $1 AND customer_id = $2 AND status = 'active' \
             ORDER BY updated_at DESC, id DESC LIMIT 1",
            CART_COLS
        );
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(cart_from).transpose()
    }

    async fn update_cart(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        id: CartId,
        lines: &[CartLine],
        now: Timestamp,
        effects: Effects,
    ) -> StoreResult<Cart> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE carts SET line_items = $1, updated_at = $2 WHERE partner_id = $3 AND customer_id = $4 AND id = $5 \
             AND status = 'active'",
        )
        .bind(lines_json(lines)?)
        .bind(now.micros())
        .bind(scope.partner_id().to_string())
        .bind(customer.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sql = format!("SELECT {} FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3", CART_COLS);
        let row = sqlx::query(&sql)
            .bind(scope.partner_id().to_string())
            .bind(customer.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let cart = cart_from(&row)?;
        if n != 1 {
            let order = cart.order_id.map(|o| o.to_string()).unwrap_or_default();
            return Err(StoreError::Refused(domain::DomainError::CartAlreadyOrdered(order)));
        }
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(cart)
    }

    async fn place_order(
        &self,
        scope: PartnerScope,
        order: &Order,
        cart: CartClaim<'_>,
        items: &[NewSoftwareItem],
        effects: Effects,
    ) -> StoreResult<()> {
        let partner = scope.partner_id().to_string();
        let customer = order.customer_id.to_string();
        let order_id = order.id.to_string();
        let mut tx = self.begin().await?;
        match cart {
            CartClaim::Direct(cart) => {
                // A new cart, written already ordered: nothing else can claim it.
                sqlx::query(
                    "INSERT INTO carts (id, partner_id, customer_id, status, line_items, order_id, created_at, \
                     updated_at) VALUES ($1, $2, $3, 'ordered', $4, $5, $6, $6)",
                )
                .bind(cart.id.to_string())
                .bind(&partner)
                .bind(&customer)
                .bind(lines_json(&cart.lines)?)
                .bind(&order_id)
                .bind(order.created_at.micros())
                .execute(&mut *tx)
                .await?;
            }
            CartClaim::Stored { version } => {
                // Claiming the cart first: a second checkout (or a racing one) finds it ordered and stops here.
                let claimed = sqlx::query(
                    "UPDATE carts SET status = 'ordered', order_id = $1, updated_at = $2 WHERE partner_id = $3 \
                     AND customer_id = $4 AND id = $5 AND status = 'active' AND updated_at = $6",
                )
                .bind(&order_id)
                .bind(order.created_at.micros())
                .bind(&partner)
                .bind(&customer)
                .bind(order.cart_id.to_string())
                .bind(version.micros())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if claimed != 1 {
                    let row = sqlx::query(
                        "SELECT order_id FROM carts WHERE partner_id = $1 AND customer_id = $2 AND id = $3",
                    )
                    .bind(&partner)
                    .bind(&customer)
                    .bind(order.cart_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let existing: Option<String> = row.try_get(0)?;
                    return Err(StoreError::Refused(match existing {
                        Some(order) => domain::DomainError::CartAlreadyOrdered(order),
                        // Still active but changed since it was priced: the caller must price it again.
                        None => {
                            domain::DomainError::Conflict("the cart changed during checkout; check it out again".into())
                        }
                    }));
                }
            }
        }
        sqlx::query(
            "INSERT INTO orders (id, partner_id, customer_id, cart_id, currency_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&order_id)
        .bind(&partner)
        .bind(&customer)
        .bind(order.cart_id.to_string())
        .bind(&order.currency)
        .bind(order.created_at.micros())
        .execute(&mut *tx)
        .await?;
        // The lines and their charges, one statement each (per 500 rows).
        for chunk in order.lines.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO order_lines (order_id, line_number, product_id, sku_id, availability_id, product_type, \
                 title, friendly_name, term, quantity, scale, unit_price_minor, net_minor, tax_minor, gross_minor, \
                 tax_inclusive, tax_rate, policy_kind, policy_days, status, cancelled_at, provisioning_context, \
                 list_unit_minor, list_net_minor, list_tax_minor, list_gross_minor, customer_unit_minor, \
                 customer_net_minor, customer_tax_minor, customer_gross_minor, price_list_id, price_list_version) \
                 VALUES {}",
                values_rows(
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    chunk.len()
                )
            );
            let mut q = sqlx::query(&sql);
            for l in chunk {
                let p = &l.pricing;
                // A context that does not serialize fails the order rather than being stored empty.
                let context = l
                    .provisioning_context
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(|_| corrupt("order_lines.provisioning_context"))?;
                q = q
                    .bind(&order_id)
                    .bind(l.line_number as i64)
                    .bind(&l.product_id)
                    .bind(&l.sku_id)
                    .bind(&l.availability_id)
                    .bind(l.product_type.as_str())
                    .bind(&l.title)
                    .bind(l.friendly_name.clone())
                    .bind(l.term.map(|t| t.as_str().to_string()))
                    .bind(p.quantity)
                    .bind(p.net.scale as i64)
                    .bind(p.unit_price.minor)
                    .bind(p.net.minor)
                    .bind(p.tax.minor)
                    .bind(p.gross.minor)
                    .bind(p.tax_inclusive as i64)
                    .bind(l.tax_rate.to_string())
                    .bind(l.policy.kind())
                    .bind(l.policy.window_days().map(i64::from))
                    .bind(l.status.as_str())
                    .bind(context)
                    .bind(l.list.unit_price.minor)
                    .bind(l.list.net.minor)
                    .bind(l.list.tax.minor)
                    .bind(l.list.gross.minor)
                    .bind(l.customer.unit_price.minor)
                    .bind(l.customer.net.minor)
                    .bind(l.customer.tax.minor)
                    .bind(l.customer.gross.minor)
                    .bind(l.price_list.map(|r| r.id.to_string()))
                    .bind(l.price_list.map(|r| i64::from(r.version)));
            }
            q.execute(&mut *tx).await?;
        }
        let charges: Vec<LedgerLine> = order.lines.iter().map(|l| LedgerLine::charge(order, l)).collect();
        ledger::insert_ledger(&mut tx, scope.partner_id(), &charges).await?;
        // Each item's line, and its key: one statement per SKU hands out that SKU's keys.
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let line = order
                .lines
                .iter()
                .find(|l| l.line_number == item.line_number)
                .ok_or_else(|| StoreError::Corrupt("software item for a missing line".into()))?;
            lines.push(line);
        }
        let keys = self.assign_keys(&mut tx, items, &lines).await?;
        for (chunk, start) in items.chunks(ROWS_PER_INSERT).zip((0..).step_by(ROWS_PER_INSERT)) {
            let sql = format!(
                "INSERT INTO software_items (id, partner_id, customer_id, order_id, line_number, product_id, sku_id, \
                 key_id, status, purchased_at) VALUES {}",
                values_rows("(?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)", chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for (i, item) in chunk.iter().enumerate() {
                let line = lines[start + i];
                q = q
                    .bind(item.id.to_string())
                    .bind(&partner)
                    .bind(&customer)
                    .bind(&order_id)
                    .bind(item.line_number as i64)
                    .bind(&line.product_id)
                    .bind(&line.sku_id)
                    .bind(keys[start + i].clone())
                    .bind(order.created_at.micros());
            }
            q.execute(&mut *tx).await?;
        }
        self.check_credit_limit(&mut tx, scope.partner_id(), order).await?;
        // The SKUs whose keys this order took: a stock that went to or below its threshold is recorded once.
        let mut skus: Vec<(&str, &str)> = Vec::new();
        for (item, line) in items.iter().zip(&lines) {
            let sku = (line.product_id.as_str(), line.sku_id.as_str());
            if item.needs_key && !skus.contains(&sku) {
                skus.push(sku);
            }
        }
        let mut effects = effects;
        effects.operator.extend(super::keys::watch_stock(&mut tx, &skus, order.created_at, scope.partner_id()).await?);
        self.commit_with(tx, scope.partner_id(), effects).await?;
        Ok(())
    }

    async fn get_order(&self, scope: PartnerScope, customer: TenantId, id: OrderId) -> StoreResult<Option<Order>> {
        let mut orders = self.orders_where(scope, customer, Some(id), 1, None).await?;
        Ok(orders.pop())
    }

    async fn list_orders(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<Order>> {
        self.orders_where(scope, customer, None, limit, after).await
    }

    async fn list_software(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<SoftwareItem>> {
        let mut sql = format!(
            "SELECT {} FROM software_items s JOIN order_lines l ON l.order_id = s.order_id \
             AND l.line_number = s.line_number WHERE s.partner_id = $1 AND s.customer_id = $2",
            SOFTWARE_COLS
        );
        if after.is_some() {
            sql.push_str(&keyset("s.purchased_at", "s.id", 3));
        }
        sql.push_str(&format!(" ORDER BY s.purchased_at, s.id LIMIT {limit}"));
        let mut q = sqlx::query(&sql).bind(scope.partner_id().to_string()).bind(customer.to_string());
        if let Some(c) = after {
            q = q.bind(c.at.micros()).bind(c.id.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(software_from).collect()
    }

    async fn active_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        reservations: Option<bool>,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        let reservation = ProductType::AzureReservation.as_str();
        let which = match reservations {
            Some(true) => format!("l.status = 'active' AND l.product_type = '{reservation}'"),
            Some(false) => format!("l.status = 'active' AND l.product_type <> '{reservation}'"),
            None => "l.status = 'active'".to_string(),
        };
        self.customer_order_lines(scope, customer, &which, limit, after).await
    }

    async fn term_order_lines(
        &self,
        scope: PartnerScope,
        customer: TenantId,
        limit: u32,
        after: Option<&Cursor>,
    ) -> StoreResult<Vec<(OrderId, Timestamp, domain::order::OrderLine)>> {
        self.customer_order_lines(scope, customer, "l.term IS NOT NULL", limit, after).await
    }
}
