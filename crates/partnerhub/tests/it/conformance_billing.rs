//! Conformance, money after checkout and customers' billing: invoice runs (R12) over the ledger, invoices and their
//! lines read in their partner's scope, and a billing profile changed under its version — on both databases.

use crate::conformance::{at, open, partner, scope, two_partners_and_a_customer, HOUR};
use crate::conformance_commerce::{cart_of, checkout, shop};
use crate::harness::{Db, START};
use domain::customer::Customer;
use domain::invoice::Period;
use domain::DomainError;
use store::{CartClaim, Effects, LedgerKind, LedgerLines, Store, StoreError};

crate::on_both_backends!(an_invoice_run_bills_each_row_once, a_billing_profile_changes_under_its_version);

const DAY: i64 = 24 * HOUR;

async fn an_invoice_run_bills_each_row_once(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 5).await;
    let other = partner(store, "Partner B", false).await;
    let cart = cart_of(&c, &market, &["PERP", "SUB"], START);
    let order = checkout(store, scope(&p), &c, &market, &cart, CartClaim::Direct(&cart), START).await.unwrap();
    let period = Period::of(at(START));
    let after_month = at(START + 30 * DAY);

    // Before the run, the rows are unbilled: the partner's own, by date, paged.
    let unbilled = store.invoice_lines(scope(&p), LedgerLines::Unbilled, 10, None).await.unwrap();
    assert_eq!(unbilled.len(), 2);
    assert!(unbilled.iter().all(|l| l.charge_type == LedgerKind::New && l.order_id == Some(order.id)));
    let first = &unbilled[0];
    let cursor = domain::paging::Cursor { at: first.at, id: first.id.clone() };
    assert_eq!(store.invoice_lines(scope(&p), LedgerLines::Unbilled, 10, Some(&cursor)).await.unwrap(), unbilled[1..]);
    assert!(store.invoice_lines(scope(&other), LedgerLines::Unbilled, 10, None).await.unwrap().is_empty());

    // Once the month is over, one invoice per currency, totals equal to the rows; running again issues nothing new.
    let issued = store.run_invoices(&[(scope(&p), after_month), (scope(&other), after_month)], period).await.unwrap();
    assert_eq!(issued.len(), 1, "{issued:?}");
    let invoice = &issued[0];
    assert_eq!((invoice.partner_id, invoice.period, invoice.currency.as_str()), (p.id, period, "USD"));
    assert_eq!(
        (invoice.line_count, invoice.total_charges.minor),
        (2, order.lines.iter().map(|l| l.pricing.gross.minor).sum::<i64>())
    );
    let again = store.run_invoices(&[(scope(&p), after_month)], period).await.unwrap();
    assert_eq!(again, issued);

    // Read back in the partner's scope only.
    assert_eq!(store.list_invoices(scope(&p), 10, None).await.unwrap(), issued);
    assert!(store.list_invoices(scope(&other), 10, None).await.unwrap().is_empty());
    assert_eq!(store.get_invoice(scope(&p), invoice.id).await.unwrap().as_ref(), Some(invoice));
    assert_eq!(store.get_invoice(scope(&other), invoice.id).await.unwrap(), None);
    let lines = store.invoice_lines(scope(&p), LedgerLines::Invoice(invoice.id), 10, None).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.charge_type == LedgerKind::New && l.order_id == Some(order.id)));
    assert_eq!(lines.iter().map(|l| l.total.minor).sum::<i64>(), invoice.total_charges.minor);
    assert_eq!(
        store.invoice_lines(scope(&p), LedgerLines::Invoice(invoice.id), 1, None).await.unwrap(),
        lines[..1].to_vec()
    );
    assert!(store.invoice_lines(scope(&other), LedgerLines::Invoice(invoice.id), 10, None).await.unwrap().is_empty());

    // Invoiced, nothing is left unbilled.
    assert!(store.invoice_lines(scope(&p), LedgerLines::Unbilled, 10, None).await.unwrap().is_empty());

    // The ledger agrees: every row stamped once, totals equal to the rows.
    let (facts, invoices) = store.ledger_facts().await.unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].stated, invoices[0].summed);
    assert!(domain::ledger::verify(&facts, &invoices).is_empty());
}

async fn a_billing_profile_changes_under_its_version(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (a, b, c) = two_partners_and_a_customer(store).await;
    let stored = store.get_customer(scope(&a), c.tenant_id).await.unwrap().unwrap();
    let changed = Customer {
        billing_email: "accounts@fabrikam.example".into(),
        billing_company_name: "Fabrikam Billing".into(),
        profile_version: stored.profile_version + 1,
        ..stored.clone()
    };

    // Another partner's scope: no such customer. A stale version: refused. Nothing written either way.
    let err = store.update_customer_billing(scope(&b), &changed, stored.profile_version, Effects::default()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    let err = store.update_customer_billing(scope(&a), &changed, stored.profile_version + 5, Effects::default()).await;
    assert!(matches!(err, Err(StoreError::Refused(DomainError::PreconditionFailed))), "{err:?}");
    assert_eq!(store.get_customer(scope(&a), c.tenant_id).await.unwrap().unwrap(), stored);

    store.update_customer_billing(scope(&a), &changed, stored.profile_version, Effects::default()).await.unwrap();
    assert_eq!(store.get_customer(scope(&a), c.tenant_id).await.unwrap().unwrap(), changed);
    // The same expected version again: the first writer won.
    let err = store.update_customer_billing(scope(&a), &changed, stored.profile_version, Effects::default()).await;
    assert!(matches!(err, Err(StoreError::Refused(DomainError::PreconditionFailed))), "{err:?}");
}
