//! Monthly invoices (R12): the publisher's invoice run, and the partner's billing reads (billing or global admin).

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::ids::InvoiceId;
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::DomainError;
use store::PartnerScope;

/// What an invoice run did for a month.
#[derive(Debug, Clone)]
pub struct InvoiceRun {
    pub period: Period,
    /// The month's invoices of every partner it has ended for: issued now or earlier (the run is idempotent).
    pub invoices: Vec<Invoice>,
    /// Partners whose clock has not reached the end of the month yet.
    pub partners_not_due: usize,
}

/// What `ledger verify` found: how much it checked, and every broken invariant (none: the ledger is sound).
#[derive(Debug, Clone)]
pub struct LedgerVerification {
    pub lines_checked: usize,
    pub invoices_checked: usize,
    pub violations: Vec<domain::ledger::Violation>,
}

impl LedgerVerification {
    pub fn valid(&self) -> bool {
        self.violations.is_empty()
    }
}

impl Services {
    /// The operator checks the whole ledger's invariants (SPEC §8): per order line credits never exceed the charge,
    /// per invoice the totals equal its rows, and every row billed is its invoice's own.
    #[tracing::instrument(skip_all)]
    pub async fn verify_ledger(&self, _publisher: &Publisher) -> Result<LedgerVerification> {
        let (lines, invoices) = self.store.ledger_facts().await?;
        let violations = domain::ledger::verify(&lines, &invoices);
        Ok(LedgerVerification { lines_checked: lines.len(), invoices_checked: invoices.len(), violations })
    }

    /// Issues the invoices of `period` ("YYYY-MM") for every partner whose clock has passed its end. Running it
    /// again issues nothing new; an issued invoice never changes.
    #[tracing::instrument(skip_all)]
    pub async fn run_invoices(&self, _publisher: &Publisher, period: &str) -> Result<InvoiceRun> {
        let period = Period::parse(period)?;
        let mut run = InvoiceRun { period, invoices: Vec::new(), partners_not_due: 0 };
        // The publisher acts on each partner's books, a batch of partners per transaction.
        let mut due = Vec::new();
        for partner in self.store.list_partners().await? {
            let now = self.partner_now(&partner);
            if period.has_ended(now) {
                due.push((PartnerScope::authenticated(partner.id), now));
            } else {
                run.partners_not_due += 1;
            }
        }
        for batch in due.chunks(self.store.backend().invoice_batch()) {
            run.invoices.extend(self.store.run_invoices(batch, period).await?);
        }
        tracing::info!(period = %period, invoices = run.invoices.len(), not_due = run.partners_not_due, "invoice run");
        Ok(run)
    }

    /// Newest month first, then by currency.
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn list_invoices(&self, actor: &Actor, size: PageSize, after: Option<Cursor>) -> Result<Page<Invoice>> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let rows = self.store.list_invoices(scope, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |i| Cursor {
            at: domain::Timestamp::start_of_day(i.period.first_day()),
            id: i.currency.clone(),
        }))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn get_invoice(&self, actor: &Actor, id: InvoiceId) -> Result<Invoice> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        self.store.get_invoice(scope, id).await?.ok_or_else(|| DomainError::NotFound.into())
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn invoice_lines(
        &self,
        actor: &Actor,
        id: InvoiceId,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<InvoiceLine>> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let invoice = self.get_invoice(actor, id).await?;
        let rows = self.store.invoice_lines(scope, invoice.id, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |l| Cursor { at: l.at, id: l.id.clone() }))
    }

    /// Every line of an invoice, read a page at a time (for the CSV).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn all_invoice_lines(&self, actor: &Actor, id: InvoiceId) -> Result<(Invoice, Vec<InvoiceLine>)> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let invoice = self.get_invoice(actor, id).await?;
        let mut lines = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = self.store.invoice_lines(scope, invoice.id, 1000, after.as_ref()).await?;
            let done = page.len() < 1000;
            after = page.last().map(|l| Cursor { at: l.at, id: l.id.clone() });
            lines.extend(page);
            if done {
                return Ok((invoice, lines));
            }
        }
    }
}
