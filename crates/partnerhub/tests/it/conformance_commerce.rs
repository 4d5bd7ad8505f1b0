//! Conformance, commerce: the catalog and R1's type rules, the key stock, carts, checkout (orders, lines, software
//! items, keys and charges in one transaction), reading orders back, cancellation and the ledger — on both
//! databases.

use crate::conformance::{at, customer, open, partner, record, scope, HOUR};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::catalog::{availability_id, catalog_item_id, MarketRule, Price, Product, ProductType, Sku, Term};
use domain::credit::LineCredit;
use domain::customer::Customer;
use domain::ids::{CartId, KeyId, OrderId};
use domain::market::{Market, MarketCode};
use domain::money::Money;
use domain::order::{price_order, validate_cart_lines, Cart, CartLineDraft, CartStatus, LineStatus, Order};
use domain::partner::Partner;
use domain::DomainError;
use store::{CancelLines, CartClaim, Effects, LedgerKind, LedgerLine, NewKey, PartnerScope, Store, StoreError};

crate::on_both_backends!(
    the_catalog_is_replaced_per_product_and_read_whole,
    keys_are_stocked_once_and_taken_at_checkout,
    carts_check_out_once_into_orders_software_and_charges,
    a_cancel_credits_its_lines_once_and_the_ledger_adds_up,
);

fn us() -> MarketCode {
    MarketCode::parse("US").unwrap()
}

/// A product with one SKU priced in the US (and, for `extra`, in Japan too).
pub(crate) fn product(id: &str, product_type: ProductType, term: Option<Term>, minor: i64, extra: bool) -> Product {
    let mut prices = vec![Price { country: us(), currency: "USD".into(), list_price: Money { minor, scale: 2 } }];
    if extra {
        let jp = MarketCode::parse("JP").unwrap();
        prices.push(Price { country: jp, currency: "JPY".into(), list_price: Money { minor: minor / 100, scale: 0 } });
    }
    // As the store reads them back: by country.
    prices.sort_by_key(|p| p.country);
    Product {
        id: id.into(),
        title: format!("Product {id}"),
        publisher_name: "Contoso".into(),
        product_type,
        policy: product_type.default_policy(),
        available_markets: None,
        unavailable_markets: None,
        skus: vec![Sku { id: "S1".into(), title: format!("{id} SKU"), term, prices }],
    }
}

/// The two products the orders below buy: a yearly subscription and perpetual software (both take a key).
pub(crate) fn catalog() -> Vec<Product> {
    vec![
        product("PERP", ProductType::PerpetualSoftware, None, 30_000, false),
        product("SUB", ProductType::SoftwareSubscription, Some(Term::P1Y), 12_000, true),
    ]
}

pub(crate) fn keys(n: usize, tag: &str) -> Vec<NewKey> {
    (0..n).map(|i| NewKey { id: KeyId::new(), fingerprint: format!("{tag}-{i}"), sealed: vec![i as u8; 4] }).collect()
}

/// A partner with one US customer, the catalog imported and `stock` keys for each SKU.
pub(crate) async fn shop(store: &dyn Store, stock: usize) -> (Partner, Customer, Market) {
    let p = partner(store, "Partner A", false).await;
    let c = customer("Fabrikam", "fabrikam.example", "US", START);
    store.create_customer(scope(&p), &c, Effects::default()).await.unwrap();
    store.put_catalog(&catalog(), at(START), Effects::default()).await.unwrap();
    for id in ["PERP", "SUB"] {
        store.add_keys(id, "S1", &keys(stock, id), at(START), Effects::default()).await.unwrap();
    }
    (p, c, store.get_market(us()).await.unwrap().unwrap())
}

/// A cart of the given products (one of each), priced as checkout prices it.
pub(crate) fn cart_of(c: &Customer, market: &Market, products: &[&str], now: i64) -> Cart {
    let drafts = products
        .iter()
        .map(|p| CartLineDraft {
            catalog_item_id: catalog_item_id(p, "S1", &availability_id(p, "S1", us())),
            quantity: 1,
            billing_cycle: "one_time".into(),
            ..Default::default()
        })
        .collect();
    let lines = validate_cart_lines(drafts, &catalog(), market).unwrap();
    Cart {
        id: CartId::new(),
        customer_id: c.tenant_id,
        status: CartStatus::Active,
        lines,
        order_id: None,
        created_at: at(now),
        updated_at: at(now),
    }
}

/// Checks `cart` out (already stored, or made on the spot) with the service's writes.
pub(crate) async fn checkout(
    store: &dyn Store,
    s: PartnerScope,
    c: &Customer,
    market: &Market,
    cart: &Cart,
    claim: CartClaim<'_>,
    now: i64,
) -> Result<Order, StoreError> {
    let order =
        price_order(OrderId::new(), cart, &catalog(), market, &domain::order::PriceBook::default(), at(now)).unwrap();
    let (items, audit) = services::orders::checkout_writes(&order, c, "ann@contoso.com", at(now));
    store.place_order(s, &order, claim, &items, Effects::audit(audit)).await?;
    Ok(order)
}

async fn the_catalog_is_replaced_per_product_and_read_whole(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let counts = store.put_catalog(&catalog(), at(START), Effects::default()).await.unwrap();
    assert_eq!((counts.products, counts.skus, counts.prices), (2, 2, 3));
    assert_eq!(store.list_products().await.unwrap(), catalog());

    // A product imported again replaces its SKUs and prices whole; the others stay.
    let mut sub = product("SUB", ProductType::SoftwareSubscription, Some(Term::P3Y), 30_000, false);
    sub.skus[0].id = "S3".into();
    let counts = store.put_catalog(std::slice::from_ref(&sub), at(START + 1), Effects::default()).await.unwrap();
    assert_eq!((counts.products, counts.skus, counts.prices), (1, 1, 1));
    assert_eq!(store.list_products().await.unwrap(), vec![catalog()[0].clone(), sub]);

    // R1's type rules: the seeded reservation rule, and the publisher's edits (replaced, not added to).
    let seeded = store.type_availability().await.unwrap();
    assert_eq!(seeded.len(), 1);
    assert_eq!(seeded[0].0, ProductType::AzureReservation);
    let jp = MarketCode::parse("JP").unwrap();
    store
        .put_type_availability(
            ProductType::SoftwarePlan,
            &MarketRule::UnavailableIn(vec![jp]),
            at(START),
            Effects::default(),
        )
        .await
        .unwrap();
    let only_us = MarketRule::AvailableOnlyIn(vec![us()]);
    store.put_type_availability(ProductType::SoftwarePlan, &only_us, at(START + 1), Effects::default()).await.unwrap();
    let rules = store.type_availability().await.unwrap();
    assert_eq!(rules.len(), 2);
    assert!(rules.contains(&(ProductType::SoftwarePlan, only_us)), "{rules:?}");
}

async fn keys_are_stocked_once_and_taken_at_checkout(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 1).await;
    assert_eq!(store.key_stock("PERP", "S1").await.unwrap(), 1);
    assert_eq!(store.key_stock("NOPE", "S1").await.unwrap(), 0);
    assert_eq!(store.add_keys("PERP", "S1", &keys(2, "more"), at(START), Effects::default()).await.unwrap(), 3);

    // A key already known (in stock or sold) refuses the whole import.
    let mut again = keys(1, "fresh");
    again.extend(keys(1, "more"));
    let err = store.add_keys("PERP", "S1", &again, at(START), Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::Conflict(_))), "{err:?}");
    assert_eq!(store.key_stock("PERP", "S1").await.unwrap(), 3, "nothing was added");

    // Checkout takes one key per keyed line; without one left, nothing is ordered.
    let cart = cart_of(&c, &market, &["PERP", "SUB"], START + 1);
    checkout(store, scope(&p), &c, &market, &cart, CartClaim::Direct(&cart), START + 1).await.unwrap();
    assert_eq!(store.key_stock("PERP", "S1").await.unwrap(), 2);
    assert_eq!(store.key_stock("SUB", "S1").await.unwrap(), 0);
    let cart = cart_of(&c, &market, &["PERP", "SUB"], START + 2);
    store.create_cart(scope(&p), &cart, Effects::default()).await.unwrap();
    let claim = CartClaim::Stored { version: cart.updated_at };
    let err = checkout(store, scope(&p), &c, &market, &cart, claim, START + 2).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::InsufficientKeyStock(_))), "{err:?}");
    assert_eq!(store.key_stock("PERP", "S1").await.unwrap(), 2, "the PERP key taken first went back");
    let stored = store.get_cart(scope(&p), c.tenant_id, cart.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.order_id), (CartStatus::Active, None), "the cart was not claimed");
    assert_eq!(store.list_orders(scope(&p), c.tenant_id, 10, None).await.unwrap().len(), 1);
}

async fn carts_check_out_once_into_orders_software_and_charges(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 5).await;
    let other = partner(store, "Partner B", false).await;

    // A cart is the partner's own; its lines change while it is active.
    let cart = cart_of(&c, &market, &["PERP"], START);
    store.create_cart(scope(&p), &cart, Effects::audit(record(OperationType::CreateOrder, START))).await.unwrap();
    assert_eq!(store.get_cart(scope(&p), c.tenant_id, cart.id).await.unwrap(), Some(cart.clone()));
    assert_eq!(store.get_cart(scope(&other), c.tenant_id, cart.id).await.unwrap(), None);
    let both = cart_of(&c, &market, &["PERP", "SUB"], START).lines;
    let updated =
        store.update_cart(scope(&p), c.tenant_id, cart.id, &both, at(START + HOUR), Effects::default()).await.unwrap();
    assert_eq!((updated.lines.len(), updated.updated_at), (2, at(START + HOUR)));
    assert!(matches!(
        store.update_cart(scope(&other), c.tenant_id, cart.id, &both, at(START + HOUR), Effects::default()).await,
        Err(StoreError::NotFound)
    ));

    // Checkout needs the cart as it was priced, then claims it once.
    let stale = CartClaim::Stored { version: cart.updated_at };
    let err = checkout(store, scope(&p), &c, &market, &updated, stale, START + HOUR).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::Conflict(_))), "{err:?}");
    let claim = CartClaim::Stored { version: updated.updated_at };
    let order = checkout(store, scope(&p), &c, &market, &updated, claim, START + 2 * HOUR).await.unwrap();
    let err = checkout(store, scope(&p), &c, &market, &updated, claim, START + 2 * HOUR).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::CartAlreadyOrdered(ref o)) if *o == order.id.to_string()));
    let ordered = store.get_cart(scope(&p), c.tenant_id, cart.id).await.unwrap().unwrap();
    assert_eq!((ordered.status, ordered.order_id), (CartStatus::Ordered, Some(order.id)));
    let err = store.update_cart(scope(&p), c.tenant_id, cart.id, &both, at(START), Effects::default()).await;
    assert!(matches!(err, Err(StoreError::Refused(DomainError::CartAlreadyOrdered(_)))), "{err:?}");

    // The order reads back whole, by customer and by id alone, and only in its partner's scope.
    assert_eq!(store.get_order(scope(&p), c.tenant_id, order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(store.find_order(scope(&p), order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(store.find_order(scope(&other), order.id).await.unwrap(), None);
    assert_eq!(store.get_order(scope(&other), c.tenant_id, order.id).await.unwrap(), None);
    let direct = cart_of(&c, &market, &["SUB"], START + 3 * HOUR);
    let second =
        checkout(store, scope(&p), &c, &market, &direct, CartClaim::Direct(&direct), START + 3 * HOUR).await.unwrap();
    assert_eq!(store.list_orders(scope(&p), c.tenant_id, 10, None).await.unwrap(), vec![order.clone(), second.clone()]);
    let after = domain::paging::Cursor { at: order.created_at, id: order.id.to_string() };
    assert_eq!(store.list_orders(scope(&p), c.tenant_id, 10, Some(&after)).await.unwrap(), vec![second.clone()]);
    assert!(store.list_orders(scope(&other), c.tenant_id, 10, None).await.unwrap().is_empty());

    // Each software line has an item holding a key; entitlements and subscriptions are views of the lines.
    let software = store.list_software(scope(&p), c.tenant_id, 10, None).await.unwrap();
    assert_eq!(software.len(), 3);
    assert!(software.iter().all(|s| s.has_key && s.status == LineStatus::Active));
    let item = store.get_software_item(scope(&p), c.tenant_id, software[0].id).await.unwrap().unwrap();
    assert_eq!(item.item, software[0]);
    assert_eq!(item.sealed_key.map(|k| k.len()), Some(4));
    assert!(store.get_software_item(scope(&other), c.tenant_id, software[0].id).await.unwrap().is_none());
    assert!(store.list_software(scope(&other), c.tenant_id, 10, None).await.unwrap().is_empty());
    // Line numbers are the order's own (they start at 0).
    let n = |o: &Order, i: usize| o.lines[i].line_number;
    let active = store.active_order_lines(scope(&p), c.tenant_id, None, 10, None).await.unwrap();
    assert_eq!(
        active.iter().map(|(o, _, l)| (*o, l.line_number)).collect::<Vec<_>>(),
        vec![(order.id, n(&order, 0)), (order.id, n(&order, 1)), (second.id, n(&second, 0))]
    );
    assert_eq!(store.active_order_lines(scope(&p), c.tenant_id, Some(false), 10, None).await.unwrap().len(), 3);
    assert!(store.active_order_lines(scope(&p), c.tenant_id, Some(true), 10, None).await.unwrap().is_empty());
    let terms = store.term_order_lines(scope(&p), c.tenant_id, 10, None).await.unwrap();
    assert_eq!(
        terms.iter().map(|(o, _, l)| (*o, l.product_id.as_str())).collect::<Vec<_>>(),
        vec![(order.id, "SUB"), (second.id, "SUB")]
    );
    let page = domain::paging::Cursor { at: order.created_at, id: format!("{}:{}", order.id, n(&order, 0)) };
    let rest = store.active_order_lines(scope(&p), c.tenant_id, None, 10, Some(&page)).await.unwrap();
    assert_eq!(rest.len(), 2);

    // Checkout wrote one charge per line: the balance, and the ledger as `ledger verify` reads it.
    let balance = store.order_balance(scope(&p), order.id).await.unwrap().unwrap();
    let charged: Vec<(u32, i64, i64)> =
        balance.lines.iter().map(|l| (l.line_number, l.charged_net, l.credited_net)).collect();
    let net = |n: u32| order.lines.iter().find(|l| l.line_number == n).unwrap().pricing.net.minor;
    assert_eq!(charged, vec![(n(&order, 0), net(n(&order, 0)), 0), (n(&order, 1), net(n(&order, 1)), 0)]);
    assert!(store.order_balance(scope(&other), order.id).await.unwrap().is_none());
    let (facts, invoices) = store.ledger_facts().await.unwrap();
    assert_eq!(facts.len(), 3);
    assert!(facts.iter().all(|f| f.credited_net == 0 && f.charged_net > 0));
    assert!(invoices.is_empty());
    assert!(domain::ledger::verify(&facts, &invoices).is_empty());
}

async fn a_cancel_credits_its_lines_once_and_the_ledger_adds_up(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 5).await;
    let cart = cart_of(&c, &market, &["PERP", "SUB"], START);
    let order = checkout(store, scope(&p), &c, &market, &cart, CartClaim::Direct(&cart), START).await.unwrap();
    let line = &order.lines[0];
    let credit = LineCredit { line_number: line.line_number, net: line.pricing.net.minor, tax: line.pricing.tax.minor };
    let row = LedgerLine::cancel_credit(&order, line, &credit, at(START + HOUR));
    assert_eq!(row.kind, LedgerKind::Cancel);
    let cancel = CancelLines {
        customer: c.tenant_id,
        order_id: order.id,
        lines: vec![line.line_number],
        at: at(START + HOUR),
        credits: vec![row],
    };
    let other = partner(store, "Partner B", false).await;
    assert!(matches!(store.cancel_lines(scope(&other), &cancel, Effects::default()).await, Err(StoreError::NotFound)));
    store
        .cancel_lines(scope(&p), &cancel, Effects::audit(record(OperationType::UpdateOrder, START + HOUR)))
        .await
        .unwrap();

    let after = store.get_order(scope(&p), c.tenant_id, order.id).await.unwrap().unwrap();
    assert_eq!(after.lines[0].status, LineStatus::Cancelled);
    assert_eq!(after.lines[0].cancelled_at, Some(at(START + HOUR)));
    assert_eq!(after.lines[1].status, LineStatus::Active);
    let software = store.list_software(scope(&p), c.tenant_id, 10, None).await.unwrap();
    let statuses: Vec<_> = software.iter().map(|s| (s.line_number, s.status)).collect();
    assert!(
        statuses.contains(&(line.line_number, LineStatus::Cancelled))
            && statuses.contains(&(order.lines[1].line_number, LineStatus::Active)),
        "{statuses:?}"
    );
    assert_eq!(store.active_order_lines(scope(&p), c.tenant_id, None, 10, None).await.unwrap().len(), 1);
    let balance = store.order_balance(scope(&p), order.id).await.unwrap().unwrap();
    assert_eq!((balance.lines[0].credited_net, balance.lines[0].credited_tax), (credit.net, credit.tax));
    assert_eq!(balance.lines[0].left_gross(), 0);

    // The same lines again: refused, nothing written.
    let err = store.cancel_lines(scope(&p), &cancel, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::AlreadyCancelled(_))), "{err:?}");
    // A credit over what is left of a line: refused by the balance under the order's lock.
    let charged = &order.lines[1].pricing;
    let too_much =
        LineCredit { line_number: order.lines[1].line_number, net: charged.net.minor + charged.tax.minor + 1, tax: 0 };
    let over = CancelLines {
        customer: c.tenant_id,
        order_id: order.id,
        lines: vec![order.lines[1].line_number],
        at: at(START + HOUR),
        credits: vec![LedgerLine::cancel_credit(&order, &order.lines[1], &too_much, at(START + HOUR))],
    };
    let err = store.cancel_lines(scope(&p), &over, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::CreditExceedsCharge { .. })), "{err:?}");
    let current = store.get_order(scope(&p), c.tenant_id, order.id).await.unwrap().unwrap();
    assert_eq!(current.lines[1].status, LineStatus::Active, "the refused cancel changed nothing");

    let (facts, invoices) = store.ledger_facts().await.unwrap();
    let first = facts.iter().find(|f| f.line == Some(line.line_number)).unwrap();
    assert_eq!((first.credited_net, first.credited_tax), (credit.net, credit.tax));
    assert!(domain::ledger::verify(&facts, &invoices).is_empty());
}
