//! Reconciliation and customer statements (issue 23): a month of a partner's ledger rows with the partner's cost
//! (as invoiced) and the customer's price side by side, checked against the month's invoices; and one customer's
//! share of it.

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::ids::{OrderId, TenantId};
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::ledger::LedgerKind;
use domain::order::OrderLine;
use domain::paging::Cursor;
use domain::policy::Action;
use domain::reconcile::{check, row, InvoiceCheck, ReconRow};
use std::collections::HashMap;
use store::{LedgerLines, PartnerScope};

/// A partner's month: the rows billed on its invoices for the month and the rows dated in it not invoiced yet.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub period: Period,
    pub invoices: Vec<Invoice>,
    pub rows: Vec<ReconRow>,
}

impl Reconciliation {
    pub fn checks(&self) -> Vec<InvoiceCheck> {
        check(&self.invoices, &self.rows)
    }
}

impl Services {
    /// The actor's partner's reconciliation for `period` (`YYYY-MM`), for the roles that see billing.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn reconciliation(&self, actor: &Actor, period: &str) -> Result<Reconciliation> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        actor.authorize(Action::ViewMargins)?;
        self.reconcile_in(scope, Period::parse(period)?).await
    }

    /// One customer's statement for `period`: its rows of the partner's reconciliation, at customer prices.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn customer_statement(
        &self,
        actor: &Actor,
        customer_id: TenantId,
        period: &str,
    ) -> Result<(domain::customer::Customer, Reconciliation)> {
        let customer = self.get_customer(actor, customer_id).await?;
        let mut r = self.reconciliation(actor, period).await?;
        r.rows.retain(|row| row.line.customer_id == Some(customer.tenant_id));
        Ok((customer, r))
    }

    /// The operator's check (`partnerhub reconcile --period`): every partner's month, checked against its
    /// invoices.
    pub async fn reconcile_all(&self, publisher: &Publisher, period: &str) -> Result<Vec<(String, Reconciliation)>> {
        publisher.authorize(domain::operator::OperatorAction::Billing)?;
        let period = Period::parse(period)?;
        let mut out = Vec::new();
        for p in self.store.list_partners().await? {
            out.push((p.name.clone(), self.reconcile_in(PartnerScope::authenticated(p.id), period).await?));
        }
        Ok(out)
    }

    async fn reconcile_in(&self, scope: PartnerScope, period: Period) -> Result<Reconciliation> {
        let mut invoices = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = self.store.list_invoices(scope, 500, after.as_ref()).await?;
            let done = page.len() < 500;
            after = page.last().map(|i| Cursor { at: i.period.start(), id: i.currency.clone() });
            invoices.extend(page.into_iter().filter(|i| i.period == period));
            if done {
                break;
            }
        }
        let mut lines: Vec<(InvoiceLine, Option<domain::ids::InvoiceId>)> = Vec::new();
        for i in &invoices {
            lines.extend(self.all_lines(scope, LedgerLines::Invoice(i.id)).await?.into_iter().map(|l| (l, Some(i.id))));
        }
        let (start, end) = (period.start(), period.end());
        lines.extend(
            self.all_lines(scope, LedgerLines::Unbilled)
                .await?
                .into_iter()
                .filter(|l| l.at >= start && l.at < end)
                .map(|l| (l, None)),
        );
        let mut orders: HashMap<OrderId, Vec<OrderLine>> = HashMap::new();
        for id in lines.iter().filter_map(|(l, _)| l.order_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = orders.entry(id) {
                let order = self.store.find_order(scope, id).await?;
                e.insert(order.map(|o| o.lines).unwrap_or_default());
            }
        }
        // A credit's customer side is its cumulative share of the line (domain::reconcile::customer_side): it needs
        // what the line's earlier credits gave back, in this month or before, so every row of the orders credited
        // this month is read.
        let mut history: HashMap<OrderId, Vec<InvoiceLine>> = HashMap::new();
        for id in lines.iter().filter(|(l, _)| l.charge_type != LedgerKind::New).filter_map(|(l, _)| l.order_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = history.entry(id) {
                e.insert(self.all_lines(scope, LedgerLines::Order(id)).await?);
            }
        }
        let credited_before = |l: &InvoiceLine| -> i64 {
            let Some(rows) = l.order_id.and_then(|o| history.get(&o)) else { return 0 };
            rows.iter()
                .filter(|r| r.charge_type != LedgerKind::New && r.line_number == l.line_number)
                .filter(|r| (r.at, &r.id) < (l.at, &l.id))
                .map(|r| r.total.minor.saturating_abs())
                .sum()
        };
        let mut rows: Vec<ReconRow> = lines
            .into_iter()
            .map(|(l, invoice)| {
                let ol = l
                    .order_id
                    .and_then(|o| orders.get(&o))
                    .and_then(|ls| ls.iter().find(|ol| Some(ol.line_number) == l.line_number));
                let before = if l.charge_type == LedgerKind::New { 0 } else { credited_before(&l) };
                row(l, ol, invoice, before)
            })
            .collect();
        rows.sort_by(|a, b| (a.line.at, &a.line.id).cmp(&(b.line.at, &b.line.id)));
        Ok(Reconciliation { period, invoices, rows })
    }
}
