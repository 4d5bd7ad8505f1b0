//! Monthly invoices (R12): the publisher's invoice run, and the partner's billing reads (billing or global admin).

use crate::auth::Publisher;
use crate::{Actor, Result, Services};
use domain::ids::InvoiceId;
use domain::invoice::{Invoice, InvoiceLine, Period};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::DomainError;
use store::{LedgerLines, PartnerScope};

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

/// The ledger rows not invoiced yet, and their totals per currency.
#[derive(Debug, Clone)]
pub struct Unbilled {
    pub lines: Vec<InvoiceLine>,
    pub totals: Vec<UnbilledTotal>,
}

/// One currency's rows not invoiced yet: charges (positive), credits (negative), and what they add up to.
#[derive(Debug, Clone)]
pub struct UnbilledTotal {
    pub currency: String,
    pub charges: domain::money::Money,
    pub credits: domain::money::Money,
    pub subtotal: domain::money::Money,
    pub tax: domain::money::Money,
    pub total: domain::money::Money,
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
        let rows =
            self.store.invoice_lines(scope, LedgerLines::Invoice(invoice.id), size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |l| Cursor { at: l.at, id: l.id.clone() }))
    }

    /// Every line of an invoice, read a page at a time (for the CSV).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn all_invoice_lines(&self, actor: &Actor, id: InvoiceId) -> Result<(Invoice, Vec<InvoiceLine>)> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let invoice = self.get_invoice(actor, id).await?;
        let lines = self.all_lines(scope, LedgerLines::Invoice(invoice.id)).await?;
        Ok((invoice, lines))
    }

    /// The ledger rows no invoice has taken yet (billing or global admin): this month's charges and credits so far,
    /// so a cancellation's credit shows at once, paged by (date, id).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn unbilled_lines(
        &self,
        actor: &Actor,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<InvoiceLine>> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let rows = self.store.invoice_lines(scope, LedgerLines::Unbilled, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |l| Cursor { at: l.at, id: l.id.clone() }))
    }

    /// Every row not invoiced yet, with its totals per currency (what the next invoices will add up to, unless the
    /// rows fall in different months).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn unbilled(&self, actor: &Actor) -> Result<Unbilled> {
        let scope = actor.authorize(Action::ReadInvoices)?;
        let lines = self.all_lines(scope, LedgerLines::Unbilled).await?;
        let mut totals: Vec<UnbilledTotal> = Vec::new();
        for l in &lines {
            let i = match totals.iter().position(|t| t.currency == l.currency) {
                Some(i) => i,
                None => {
                    let zero = domain::money::Money::zero(l.total.scale);
                    let (charges, credits, subtotal, tax, total) = (zero, zero, zero, zero, zero);
                    totals.push(UnbilledTotal { currency: l.currency.clone(), charges, credits, subtotal, tax, total });
                    totals.len() - 1
                }
            };
            let t = &mut totals[i];
            let add = |a: domain::money::Money, b: domain::money::Money| {
                a.checked_add(b).ok_or_else(|| crate::Error::Internal("unbilled totals overflow".into()))
            };
            if !l.charge_type.is_credit() {
                t.charges = add(t.charges, l.total)?;
            } else {
                t.credits = add(t.credits, l.total)?;
            }
            t.subtotal = add(t.subtotal, l.subtotal)?;
            t.tax = add(t.tax, l.tax_total)?;
            t.total = add(t.total, l.total)?;
        }
        totals.sort_by(|a, b| a.currency.cmp(&b.currency));
        Ok(Unbilled { lines, totals })
    }

    /// Every row of `of`, read a page at a time.
    pub(crate) async fn all_lines(&self, scope: PartnerScope, of: LedgerLines) -> Result<Vec<InvoiceLine>> {
        let mut lines = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = self.store.invoice_lines(scope, of, 1000, after.as_ref()).await?;
            let done = page.len() < 1000;
            after = page.last().map(|l| Cursor { at: l.at, id: l.id.clone() });
            lines.extend(page);
            if done {
                return Ok(lines);
            }
        }
    }
}
