//! The Store conformance suite (DESIGN habit 4): one set of tests, run against the Store directly (no HTTP) on
//! SQLite and on PostgreSQL, so both backends keep one behaviour. Each test opens a fresh database.

use crate::harness::{Db, TestDb, START};
use domain::audit::{AuditRecord, ChainVerifier, DateRange, NewAuditRecord, OperationType, GENESIS_HASH};
use domain::customer::{Address, BillingDraft, Customer, CustomerDraft};
use domain::filter::{AuditFilter, CustomerFilter};
use domain::ids::{TenantId, TokenId};
use domain::market::{Market, MarketCode, MarketUpdate};
use domain::paging::Cursor;
use domain::partner::Partner;
use domain::role::{Role, RoleSet};
use domain::user::{new_user, User};
use domain::Timestamp;
use std::sync::Arc;
use store::prelude::*;
use store::{
    ApiToken, AuditOrder, ClaimOutcome, Effects, IdempotencyClaim, IdempotencyCompletion, PartnerScope, SqlStore,
    Store, StoreError, UserPatch,
};

pub(crate) const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

pub(crate) fn at(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// A fresh, migrated database; the `TestDb` must outlive the store (it owns SQLite's folder).
pub(crate) async fn open(backend: Db) -> (TestDb, SqlStore) {
    let db = TestDb::new(backend).await;
    let store = SqlStore::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (db, store)
}

pub(crate) fn scope(p: &Partner) -> PartnerScope {
    PartnerScope::authenticated(p.id)
}

pub(crate) async fn partner(store: &dyn Store, name: &str, sandbox: bool) -> Partner {
    let p = Partner::new(name, sandbox, None, at(START)).unwrap();
    store.create_partner(&p, Effects::default()).await.unwrap();
    p
}

/// Partners A and B, and A's customer Fabrikam (US): the setting of the tests that check one partner's data stays
/// out of the other's reach.
pub(crate) async fn two_partners_and_a_customer(store: &dyn Store) -> (Partner, Partner, Customer) {
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    let c = customer("Fabrikam", "fabrikam.example", "US", START);
    store.create_customer(scope(&a), &c, Effects::default()).await.unwrap();
    (a, b, c)
}

pub(crate) fn user(p: &Partner, email: &str, roles: &[Role]) -> User {
    let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
    new_user(p.id, email, "Test User", &roles, at(START)).unwrap()
}

pub(crate) fn customer(name: &str, domain: &str, country: &str, created_at: i64) -> Customer {
    CustomerDraft {
        tenant_id: None,
        company_name: name.into(),
        domain: domain.into(),
        billing: BillingDraft {
            email: format!("billing@{domain}"),
            company_name: None,
            contact: Default::default(),
            address: Address {
                country: country.into(),
                city: "Springfield".into(),
                address_line1: "1 Main Street".into(),
                postal_code: Some("12345".into()),
                ..Default::default()
            },
        },
    }
    .validate(at(created_at))
    .unwrap()
}

pub(crate) fn record(op: OperationType, when: i64) -> NewAuditRecord {
    NewAuditRecord::succeeded(op, "ann@contoso.com", at(when))
}

fn customer_record(c: &Customer) -> NewAuditRecord {
    record(OperationType::CreateCustomer, c.created_at.micros()).customer(c.tenant_id, &c.company_name)
}

/// Every record of the partner's chain, in seq order.
async fn chain(store: &dyn Store, s: PartnerScope) -> Vec<AuditRecord> {
    store.audit_chain(s, 0, 10_000).await.unwrap()
}

/// Walks the chain with the verifier, against the head kept on the partner.
async fn verify(store: &dyn Store, s: PartnerScope) -> domain::audit::Verification {
    let records = chain(store, s).await;
    let (seq, hash) = store.audit_head(s).await.unwrap();
    let mut v = ChainVerifier::default();
    records.iter().for_each(|r| v.feed(r));
    v.finish((seq, &hash), records.last().map(|r| r.id))
}

fn market(code: &str) -> MarketCode {
    MarketCode::parse(code).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Migrations and markets.

async fn migrate_is_idempotent_and_seeds_markets(backend: Db) {
    let (db, store) = open(backend).await;
    store.migrate().await.expect("a second migrate is a no-op");

    let markets = store.list_markets().await.unwrap();
    assert_eq!(markets.len(), 250);
    let codes: Vec<&str> = markets.iter().map(|m| m.country.as_str()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "sorted by country, each once");
    assert!(codes.contains(&"XK"), "Kosovo is seeded");

    let au = store.get_market(market("AU")).await.unwrap().unwrap();
    assert_eq!(au.currency_code, "AUD");
    assert!(au.tax_inclusive);
    assert_eq!(au.tax_rate, MarketUpdate::parse("AUD", "0.1", true).unwrap().tax_rate);
    assert_eq!(au, Market::default_for(market("AU")));
    let jp = store.get_market(market("JP")).await.unwrap().unwrap();
    assert_eq!((jp.currency_code.as_str(), jp.minor_units, jp.tax_inclusive), ("JPY", 0, false));
    let br = store.get_market(market("BR")).await.unwrap().unwrap();
    assert!(br.tax_inclusive && br.tax_rate.is_zero());
    for m in &markets {
        assert_eq!(m, &Market::default_for(m.country), "seeded default for {}", m.country);
    }

    // The publisher edits a market; neither a second migrate nor a fresh process migrating overwrites it.
    let edit = MarketUpdate::parse("JPY", "0.10", false).unwrap();
    let edited = store.put_market(market("JP"), &edit, at(START), Effects::default()).await.unwrap();
    assert_eq!(edited.tax_rate, edit.tax_rate);
    assert_eq!(edited.minor_units, 0);
    assert_eq!(store.get_market(market("JP")).await.unwrap().unwrap(), edited);
    store.migrate().await.unwrap();
    let again = SqlStore::connect(&db.url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.get_market(market("JP")).await.unwrap().unwrap(), edited);
    assert_eq!(store.get_market(market("AU")).await.unwrap().unwrap(), au);
    assert_eq!(store.list_markets().await.unwrap().len(), 250);

    // Each migration was applied exactly once.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations").fetch_one(&mut conn).await.unwrap();
    assert_eq!(applied as usize, store::migrations(store.backend()).len());
    let _ = sqlx::Connection::close(conn).await;
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Partners and the test clock.

async fn partners_and_the_test_clock(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let prod = partner(store, "Contoso Partner", false).await;
    let clock_start = at(START + 30 * DAY);
    let sandbox = Partner::new("Sandbox Partner", true, Some(clock_start), at(START + 1)).unwrap();
    store.create_partner(&sandbox, Effects::audit(record(OperationType::AdvanceTestClock, START))).await.unwrap();

    assert_eq!(store.get_partner(prod.id).await.unwrap(), Some(prod.clone()));
    assert_eq!(store.get_partner(sandbox.id).await.unwrap(), Some(sandbox.clone()));
    assert_eq!(sandbox.clock_offset_micros, 30 * DAY - 1);
    assert_eq!(store.get_partner(domain::ids::PartnerId::new()).await.unwrap(), None);
    assert_eq!(store.list_partners().await.unwrap(), vec![prod.clone(), sandbox.clone()]);
    // The creating write's effects start the chain.
    assert_eq!(store.audit_head(scope(&sandbox)).await.unwrap().0, 1);
    assert_eq!(store.audit_head(scope(&prod)).await.unwrap(), (0, GENESIS_HASH.to_string()));

    // A sandbox clock moves forward by the given amount, and the move is recorded.
    let moved = store
        .advance_clock(
            scope(&sandbox),
            DAY,
            i64::MAX,
            Effects::audit(record(OperationType::AdvanceTestClock, START).data("days", "1")),
        )
        .await
        .unwrap();
    assert_eq!(moved.clock_offset_micros, sandbox.clock_offset_micros + DAY);
    assert_eq!(moved.now(at(START + 1)), at(START + 31 * DAY));
    let moved = store
        .advance_clock(
            scope(&sandbox),
            5 * HOUR,
            i64::MAX,
            Effects::audit(record(OperationType::AdvanceTestClock, START)),
        )
        .await
        .unwrap();
    assert_eq!(moved.clock_offset_micros, sandbox.clock_offset_micros + DAY + 5 * HOUR);
    assert_eq!(store.get_partner(sandbox.id).await.unwrap(), Some(moved.clone()));
    let records = chain(store, scope(&sandbox)).await;
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(records[1].operation_type, "advance_test_clock");
    assert_eq!(records[1].resource_type, "test_clock");
    assert_eq!(records[1].customized_data, vec![("days".to_string(), "1".to_string())]);
    assert!(verify(store, scope(&sandbox)).await.valid);
    // A move past `max_offset` is refused and writes nothing (the services' bound on the test clock's dates).
    let refused = store.advance_clock(scope(&sandbox), DAY, moved.clock_offset_micros + DAY - 1, Effects::default());
    assert!(matches!(refused.await, Err(StoreError::NotFound)));
    assert_eq!(store.get_partner(sandbox.id).await.unwrap(), Some(moved.clone()));

    // A production partner has no test clock: NotFound, nothing changed, nothing recorded.
    let err = store
        .advance_clock(scope(&prod), DAY, i64::MAX, Effects::audit(record(OperationType::AdvanceTestClock, START)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.get_partner(prod.id).await.unwrap(), Some(prod.clone()));
    assert_eq!(store.audit_head(scope(&prod)).await.unwrap(), (0, GENESIS_HASH.to_string()));
    assert!(chain(store, scope(&prod)).await.is_empty());
    // Nor does a partner that does not exist.
    let ghost = PartnerScope::authenticated(domain::ids::PartnerId::new());
    assert!(matches!(store.advance_clock(ghost, DAY, i64::MAX, Effects::default()).await, Err(StoreError::NotFound)));
}

crate::on_both_backends!(migrate_is_idempotent_and_seeds_markets, partners_and_the_test_clock);

// ---------------------------------------------------------------------------------------------------------------
// 3. Users and API tokens.

pub(crate) fn token(u: &User, name: &str, created_at: i64) -> ApiToken {
    ApiToken {
        id: TokenId::new(),
        partner_id: u.partner_id,
        user_id: u.id,
        name: name.into(),
        created_at: at(created_at),
        revoked_at: None,
    }
}

async fn users_are_scoped_and_unique_by_folded_email(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;

    let ann = user(&a, "Ann@Contoso.com", &[Role::AdminAgent]);
    store
        .create_user(
            PartnerScope::authenticated(ann.partner_id),
            &ann,
            Some("hash-of-ann"),
            Effects::audit(record(OperationType::CreateUser, START)),
        )
        .await
        .unwrap();
    assert_eq!(store.get_user(scope(&a), ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.get_user(scope(&b), ann.id).await.unwrap(), None, "another partner's scope sees nothing");
    assert_eq!(store.list_users(scope(&a), 100, None).await.unwrap(), vec![ann.clone()]);
    assert!(store.list_users(scope(&b), 100, None).await.unwrap().is_empty());

    // E-mail is unique on the whole server, compared case-folded; a refused write records nothing.
    for (p, email) in [(&b, "ANN@contoso.com"), (&a, "ann@CONTOSO.COM"), (&b, "Ann@Contoso.com")] {
        let dup = user(p, email, &[Role::GlobalAdmin]);
        let err = store
            .create_user(
                PartnerScope::authenticated(dup.partner_id),
                &dup,
                None,
                Effects::audit(record(OperationType::CreateUser, START)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{email}: {err:?}");
        assert_eq!(store.get_user(scope(p), dup.id).await.unwrap(), None);
    }
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 1);
    assert_eq!(store.audit_head(scope(&b)).await.unwrap(), (0, GENESIS_HASH.to_string()));
    let bob = user(&b, "bob@contoso.com", &[Role::GlobalAdmin]);
    store.create_user(PartnerScope::authenticated(bob.partner_id), &bob, None, Effects::default()).await.unwrap();

    // Updates go through the owner's scope only.
    let patch = UserPatch {
        display_name: Some("Ann Example".into()),
        roles: RoleSet::new([Role::GlobalAdmin, Role::AdminAgent]),
        disabled: None,
    };
    assert!(matches!(
        store.update_user(scope(&b), ann.id, &patch, at(START), Effects::default()).await,
        Err(StoreError::NotFound)
    ));
    let updated = store
        .update_user(scope(&a), ann.id, &patch, at(START), Effects::audit(record(OperationType::UpdateUser, START)))
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Ann Example");
    assert_eq!(updated.roles, RoleSet::new([Role::AdminAgent, Role::GlobalAdmin]).unwrap());
    assert!(!updated.disabled);
    assert_eq!((updated.id, &updated.email, updated.created_at), (ann.id, &ann.email, ann.created_at));
    assert_eq!(store.get_user(scope(&a), ann.id).await.unwrap(), Some(updated.clone()));
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 2);

    // Sign-in looks users up by folded e-mail, across partners.
    let creds = store.credentials_by_email("ann@contoso.com").await.unwrap().unwrap();
    assert_eq!(creds.user, updated);
    assert_eq!(creds.partner, a);
    assert_eq!(creds.password_hash.as_deref(), Some("hash-of-ann"));
    let creds = store.credentials_by_email("bob@contoso.com").await.unwrap().unwrap();
    assert_eq!((creds.user, creds.partner, creds.password_hash), (bob.clone(), b.clone(), None));
    assert!(store.credentials_by_email("nobody@contoso.com").await.unwrap().is_none());
}

async fn tokens_authenticate_until_revoked_or_disabled(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    let ann = user(&a, "ann@contoso.com", &[Role::AdminAgent]);
    store.create_user(PartnerScope::authenticated(ann.partner_id), &ann, None, Effects::default()).await.unwrap();
    let t1 = token(&ann, "ci", START);
    let t2 = token(&ann, "laptop", START + 1);
    store
        .create_token(
            PartnerScope::authenticated(t1.partner_id),
            &t1,
            "hash-1",
            Effects::audit(record(OperationType::CreateApiToken, START)),
        )
        .await
        .unwrap();
    store.create_token(PartnerScope::authenticated(t2.partner_id), &t2, "hash-2", Effects::default()).await.unwrap();
    assert_eq!(store.list_tokens(scope(&a), ann.id, 100, None).await.unwrap(), vec![t1.clone(), t2.clone()]);
    assert!(store.list_tokens(scope(&b), ann.id, 100, None).await.unwrap().is_empty());
    // Keyset pages of one.
    assert_eq!(store.list_tokens(scope(&a), ann.id, 1, None).await.unwrap(), vec![t1.clone()]);
    let after = Cursor { at: t1.created_at, id: t1.id.to_string() };
    assert_eq!(store.list_tokens(scope(&a), ann.id, 1, Some(&after)).await.unwrap(), vec![t2.clone()]);

    let (id, u, p) = store.authenticate("hash-1").await.unwrap().expect("a live token");
    assert_eq!((id, u, p), (t1.id, ann.clone(), a.clone()));
    assert_eq!(store.authenticate("hash-2").await.unwrap().map(|(id, _, _)| id), Some(t2.id));
    assert!(store.authenticate("no-such-hash").await.unwrap().is_none());

    // Revocation: not through another partner's scope, then for good.
    assert!(matches!(
        store.revoke_token(scope(&b), ann.id, t1.id, at(START + HOUR), Effects::default()).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.authenticate("hash-1").await.unwrap().is_some());
    store
        .revoke_token(
            scope(&a),
            ann.id,
            t1.id,
            at(START + HOUR),
            Effects::audit(record(OperationType::RevokeApiToken, START + HOUR)),
        )
        .await
        .unwrap();
    assert!(store.authenticate("hash-1").await.unwrap().is_none(), "a revoked token no longer authenticates");
    assert!(store.authenticate("hash-2").await.unwrap().is_some(), "the other token still does");
    assert_eq!(store.list_tokens(scope(&a), ann.id, 100, None).await.unwrap(), vec![t2.clone()]);
    assert!(matches!(
        store.revoke_token(scope(&a), ann.id, t1.id, at(START + 2 * HOUR), Effects::default()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 2);

    // Disabling a user revokes its tokens and ends its sessions in the same transaction; enabling the user again
    // brings neither back (issue 16: they used to come back).
    store
        .create_session(PartnerScope::authenticated(ann.partner_id), "session-hash", ann.id, "csrf", at(START))
        .await
        .unwrap();
    assert!(store.session("session-hash").await.unwrap().is_some());
    let off = UserPatch { disabled: Some(true), ..Default::default() };
    assert!(
        store.update_user(scope(&a), ann.id, &off, at(START + 3 * HOUR), Effects::default()).await.unwrap().disabled
    );
    assert!(store.authenticate("hash-2").await.unwrap().is_none(), "disabled user");
    assert!(store.list_tokens(scope(&a), ann.id, 100, None).await.unwrap().is_empty(), "revoked, so no longer listed");
    let on = UserPatch { disabled: Some(false), ..Default::default() };
    store.update_user(scope(&a), ann.id, &on, at(START + 4 * HOUR), Effects::default()).await.unwrap();
    assert!(store.authenticate("hash-2").await.unwrap().is_none(), "a token does not come back with the user");
    assert!(store.session("session-hash").await.unwrap().is_none(), "nor does a session");
}

crate::on_both_backends!(users_are_scoped_and_unique_by_folded_email, tokens_authenticate_until_revoked_or_disabled);

// ---------------------------------------------------------------------------------------------------------------
// 4. Customers.

async fn customers_are_scoped_and_unique_per_partner(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;

    let mut c = customer("Contoso Ltd", "contoso.onmicrosoft.com", "AU", START);
    c.address.region = Some("NSW".into());
    c.address.phone_number = Some("+61 2 0000 0000".into());
    store.create_customer(scope(&a), &c, Effects::audit(customer_record(&c))).await.unwrap();
    assert_eq!(store.get_customer(scope(&a), c.tenant_id).await.unwrap().map(unpos), Some(c.clone()));
    assert_eq!(store.get_customer(scope(&a), TenantId::new()).await.unwrap(), None);
    assert_eq!(store.get_customer(scope(&b), c.tenant_id).await.unwrap(), None, "another partner's scope");
    assert!(store.list_customers(scope(&b), None, 100, None).await.unwrap().is_empty());
    assert_eq!(
        store.list_customers(scope(&a), None, 100, None).await.unwrap().into_iter().map(unpos).collect::<Vec<_>>(),
        vec![c.clone()]
    );

    // Within one partner: the tenant id and the domain are each unique; a refused write records nothing.
    let mut same_tenant = customer("Other Name", "other.example.com", "US", START + 1);
    same_tenant.tenant_id = c.tenant_id;
    let mut same_domain = customer("Contoso Again", "contoso.onmicrosoft.com", "US", START + 1);
    same_domain.tenant_id = TenantId::new();
    for dup in [&same_tenant, &same_domain] {
        let err = store.create_customer(scope(&a), dup, Effects::audit(customer_record(dup))).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{}: {err:?}", dup.company_name);
    }
    assert_eq!(store.get_customer(scope(&a), same_domain.tenant_id).await.unwrap(), None);
    assert_eq!(
        store.list_customers(scope(&a), None, 100, None).await.unwrap().into_iter().map(unpos).collect::<Vec<_>>(),
        vec![c.clone()]
    );
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 1);

    // Two partners may serve the same tenant (and domain).
    let mut for_b = customer("Contoso (via B)", "contoso.onmicrosoft.com", "NZ", START + 2);
    for_b.tenant_id = c.tenant_id;
    store.create_customer(scope(&b), &for_b, Effects::audit(customer_record(&for_b))).await.unwrap();
    assert_eq!(store.get_customer(scope(&b), c.tenant_id).await.unwrap().map(unpos), Some(for_b.clone()));
    assert_eq!(
        store.get_customer(scope(&a), c.tenant_id).await.unwrap().map(unpos),
        Some(c.clone()),
        "A's row untouched"
    );
    assert_eq!(store.audit_head(scope(&b)).await.unwrap().0, 1);
}

/// Names of the customers a filter finds, in list order.
async fn find(store: &dyn Store, s: PartnerScope, filter: &str) -> Vec<String> {
    let f = CustomerFilter::parse(filter).unwrap();
    store.list_customers(s, Some(&f), 500, None).await.unwrap().into_iter().map(|c| c.company_name).collect()
}

async fn customer_filters(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    let rows = [
        ("Contoso Ltd", "contoso.com"),
        ("Contoso East", "contoso-east.com"),
        ("Sub Contoso", "sub.contoso.com"),
        ("Fabrikam Inc", "fabrikam.com"),
        ("100% Tools", "tools.example.com"),
        ("1000 Tools", "tools1000.example.com"),
        ("Big_Deal", "bigdeal.example.com"),
        ("BigXDeal", "bigxdeal.example.com"),
        ("Ünïcode GmbH", "unicode.example.de"),
        ("Back\\Slash", "backslash.example.com"),
    ];
    let mut customers = Vec::new();
    for (i, (name, domain)) in rows.iter().enumerate() {
        let c = customer(name, domain, "US", START + i as i64);
        store.create_customer(scope(&a), &c, Effects::default()).await.unwrap();
        customers.push(c);
    }
    // Another partner's customers never show up in A's searches.
    let other = customer("Contoso Elsewhere", "contoso.com", "US", START);
    store.create_customer(scope(&b), &other, Effects::default()).await.unwrap();
    let s = scope(&a);

    // CompanyName: case-insensitive (Unicode too, via the folded column), each operator.
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"CONTOSO","Operator":"substring"}"#).await,
        ["Contoso Ltd", "Contoso East", "Sub Contoso"]
    );
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"contoso","Operator":"starts_with"}"#).await,
        ["Contoso Ltd", "Contoso East"]
    );
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"contoso ltd","Operator":"equals"}"#).await,
        ["Contoso Ltd"]
    );
    assert_eq!(find(store, s, r#"{"Field":"CompanyName","Value":"Contoso"}"#).await, Vec::<String>::new());
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"ÜNÏCODE","Operator":"starts_with"}"#).await,
        ["Ünïcode GmbH"]
    );
    // LIKE wildcards in a value are matched literally.
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"100% tools","Operator":"equals"}"#).await,
        ["100% Tools"]
    );
    assert_eq!(find(store, s, r#"{"Field":"CompanyName","Value":"0%","Operator":"substring"}"#).await, ["100% Tools"]);
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"big_","Operator":"starts_with"}"#).await,
        ["Big_Deal"]
    );
    assert_eq!(find(store, s, r#"{"Field":"CompanyName","Value":"_","Operator":"substring"}"#).await, ["Big_Deal"]);
    assert_eq!(find(store, s, r#"{"Field":"CompanyName","Value":"%","Operator":"substring"}"#).await, ["100% Tools"]);
    assert_eq!(
        find(store, s, r#"{"Field":"CompanyName","Value":"k\\s","Operator":"substring"}"#).await,
        ["Back\\Slash"]
    );

    // Domain: each operator.
    assert_eq!(
        find(store, s, r#"{"Field":"Domain","Value":"Contoso.com","Operator":"equals"}"#).await,
        ["Contoso Ltd"]
    );
    assert_eq!(
        find(store, s, r#"{"Field":"Domain","Value":"contoso","Operator":"starts_with"}"#).await,
        ["Contoso Ltd", "Contoso East"]
    );
    assert_eq!(
        find(store, s, r#"{"Field":"Domain","Value":"contoso","Operator":"substring"}"#).await,
        ["Contoso Ltd", "Contoso East", "Sub Contoso"]
    );
    assert_eq!(
        find(store, s, r#"{"Field":"Domain","Value":".example.","Operator":"substring"}"#).await,
        ["100% Tools", "1000 Tools", "Big_Deal", "BigXDeal", "Ünïcode GmbH", "Back\\Slash"]
    );

    // TenantId: each operator; an upper-case GUID still matches.
    let target = &customers[3];
    let tid = target.tenant_id.to_string();
    let upper = tid.to_uppercase();
    assert_eq!(
        find(store, s, &format!(r#"{{"Field":"TenantId","Value":"{upper}","Operator":"equals"}}"#)).await,
        ["Fabrikam Inc"]
    );
    assert_eq!(
        find(store, s, &format!(r#"{{"Field":"TenantId","Value":"{}","Operator":"substring"}}"#, &tid[24..])).await,
        ["Fabrikam Inc"]
    );
    let prefix = &tid[..8];
    let expected: Vec<String> = customers
        .iter()
        .filter(|c| c.tenant_id.to_string().starts_with(prefix))
        .map(|c| c.company_name.clone())
        .collect();
    assert!(expected.contains(&"Fabrikam Inc".to_string()));
    assert_eq!(
        find(store, s, &format!(r#"{{"Field":"TenantId","Value":"{prefix}","Operator":"starts_with"}}"#)).await,
        expected
    );
    assert!(find(store, s, &format!(r#"{{"Field":"TenantId","Value":"{}"}}"#, other.tenant_id)).await.is_empty());

    // A filter pages like the full list.
    let f = CustomerFilter::parse(r#"{"Field":"CompanyName","Value":"contoso","Operator":"substring"}"#).unwrap();
    let first = store.list_customers(s, Some(&f), 2, None).await.unwrap();
    assert_eq!(first.len(), 2);
    let last = first.last().unwrap();
    let cursor = Cursor { at: Timestamp::from_micros(last.position), id: last.tenant_id.to_string() };
    let rest = store.list_customers(s, Some(&f), 2, Some(&cursor)).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.company_name.as_str()).collect::<Vec<_>>(), ["Sub Contoso"]);
}

/// Pages through every customer with `limit` per page; each page's last row is the next cursor.
async fn page_all(store: &dyn Store, s: PartnerScope, limit: u32) -> Vec<Vec<Customer>> {
    let mut pages = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store.list_customers(s, None, limit, after.as_ref()).await.unwrap();
        assert!(page.len() <= limit as usize);
        if page.is_empty() {
            return pages;
        }
        let last = page.last().unwrap();
        after = Some(Cursor { at: Timestamp::from_micros(last.position), id: last.tenant_id.to_string() });
        pages.push(page);
        assert!(pages.len() < 1000, "paging does not end");
    }
}

/// A stored customer without its position (which the store assigns), to compare with what was written.
fn unpos(c: Customer) -> Customer {
    Customer { position: 0, ..c }
}

async fn customer_keyset_paging(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let s = scope(&a);
    // 25 customers over 5 instants, 5 sharing each; inserted out of order (later instants first).
    let mut all = Vec::new();
    for i in 0..25 {
        let instant = START + (4 - i % 5) * 1_000;
        let c = customer(&format!("Customer {i}"), &format!("c{i}.example.com"), "US", instant);
        store.create_customer(s, &c, Effects::default()).await.unwrap();
        all.push(c);
    }
    // Customers list in the order they were committed (their position), whatever their instants.
    let mut expected = all.clone();
    let listed: Vec<Customer> = store.list_customers(s, None, 500, None).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.position).collect::<Vec<_>>(), (1..=25).collect::<Vec<i64>>());
    assert_eq!(listed.into_iter().map(unpos).collect::<Vec<_>>(), expected, "commit order");
    for limit in [1, 3, 4, 5, 7, 25, 100] {
        let pages = page_all(store, s, limit).await;
        let rows: Vec<Customer> = pages.iter().flatten().cloned().map(unpos).collect();
        assert_eq!(rows, expected, "limit {limit}: every row once, in order");
        assert!(pages.iter().rev().skip(1).all(|p| p.len() == limit as usize), "limit {limit}: full pages");
    }

    // Rows added while paging (later instants) are found on later pages; none is skipped or repeated.
    let first = store.list_customers(s, None, 10, None).await.unwrap();
    let last = first.last().unwrap();
    let cursor = Cursor { at: Timestamp::from_micros(last.position), id: last.tenant_id.to_string() };
    let mut added = Vec::new();
    for i in 0..3 {
        let c = customer(&format!("Late {i}"), &format!("late{i}.example.com"), "US", START + 10_000);
        store.create_customer(s, &c, Effects::default()).await.unwrap();
        added.push(c);
    }
    let mut rest = Vec::new();
    let mut after = Some(cursor);
    loop {
        let page = store.list_customers(s, None, 6, after.as_ref()).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(Cursor { at: Timestamp::from_micros(last.position), id: last.tenant_id.to_string() });
        rest.extend(page);
    }
    let mut seen: Vec<Customer> = first.into_iter().chain(rest).map(unpos).collect();
    expected.extend(added);
    assert_eq!(seen, expected);
    seen.dedup_by_key(|c| c.tenant_id);
    assert_eq!(seen.len(), 28);
}

crate::on_both_backends!(
    customers_are_scoped_and_unique_per_partner,
    customer_filters,
    customer_keyset_paging,
    late_records_are_never_dated_before_committed_ones
);

/// A record that commits after a later-dated one takes that date, so (operation_date, seq) is commit order and a
/// reader paging the activity log never skips it.
async fn late_records_are_never_dated_before_committed_ones(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let s = scope(&a);
    for (i, when) in [START + 5_000, START + 1_000, START + 9_000].into_iter().enumerate() {
        let u = user(&a, &format!("u{i}@contoso.com"), &[Role::GlobalAdmin]);
        store
            .create_user(
                PartnerScope::authenticated(u.partner_id),
                &u,
                None,
                Effects::audit(record(OperationType::CreateUser, when)),
            )
            .await
            .unwrap();
    }
    let dates: Vec<i64> = chain(store, s).await.iter().map(|r| r.operation_date.micros()).collect();
    assert_eq!(dates, [START + 5_000, START + 5_000, START + 9_000]);
    let day = DateRange { from: at(START - DAY), until: at(START + DAY) };
    let listed: Vec<i64> = store
        .list_audit(s, day, None, 10, None, AuditOrder::OldestFirst)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(listed, [1, 2, 3]);
}

// ---------------------------------------------------------------------------------------------------------------
// 5. The activity log: numbering, hash chain, queries, append-only.

/// Asserts the chain is numbered 1..=n, linked from the genesis hash, each hash right, and ends at the head.
async fn assert_chain(store: &dyn Store, s: PartnerScope, n: i64) -> Vec<AuditRecord> {
    let records = chain(store, s).await;
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
    let mut prev = GENESIS_HASH.to_string();
    for r in &records {
        assert_eq!(r.partner_id, s.partner_id());
        assert_eq!(r.prev_hash, prev, "seq {} links to the previous record", r.seq);
        assert_eq!(r.hash, r.compute_hash(), "seq {} hash", r.seq);
        prev = r.hash.clone();
    }
    assert_eq!(store.audit_head(s).await.unwrap(), (n, prev));
    let v = verify(store, s).await;
    assert!(v.valid, "{v:?}");
    assert_eq!(v.record_count, n);
    records
}

async fn audit_chain_is_numbered_and_linked_per_partner(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = Partner::new("Partner A", true, None, at(START)).unwrap();
    let b = Partner::new("Partner B", false, None, at(START)).unwrap();
    store.create_partner(&a, Effects::audit(record(OperationType::AdvanceTestClock, START))).await.unwrap();
    store.create_partner(&b, Effects::default()).await.unwrap();
    assert_eq!(store.audit_head(scope(&b)).await.unwrap(), (0, GENESIS_HASH.to_string()));

    // Several writes, one of them with two records; B's writes interleave with A's.
    let ann = user(&a, "ann@contoso.com", &[Role::GlobalAdmin]);
    let two = Effects {
        audit: vec![
            record(OperationType::CreateUser, START + 1).data("email", "ann@contoso.com"),
            record(OperationType::CreateApiToken, START + 1).data("note", "ünïcödé ✓ \"quoted\"\n"),
        ],
        ..Effects::default()
    };
    store.create_user(PartnerScope::authenticated(ann.partner_id), &ann, None, two).await.unwrap();
    let bob = user(&b, "bob@fabrikam.com", &[Role::GlobalAdmin]);
    store
        .create_user(
            PartnerScope::authenticated(bob.partner_id),
            &bob,
            None,
            Effects::audit(record(OperationType::CreateUser, START + 2)),
        )
        .await
        .unwrap();
    let c = customer("Contoso Ltd", "contoso.com", "AU", START + 3);
    store.create_customer(scope(&a), &c, Effects::audit(customer_record(&c))).await.unwrap();
    let cb = customer("Fabrikam", "fabrikam.com", "US", START + 3);
    store.create_customer(scope(&b), &cb, Effects::audit(customer_record(&cb))).await.unwrap();
    store
        .update_user(
            scope(&a),
            ann.id,
            &UserPatch { display_name: Some("Ann".into()), ..Default::default() },
            at(START + 4),
            Effects::audit(record(OperationType::UpdateUser, START + 4)),
        )
        .await
        .unwrap();
    store
        .advance_clock(scope(&a), DAY, i64::MAX, Effects::audit(record(OperationType::AdvanceTestClock, START + 5)))
        .await
        .unwrap();
    // A write with no records leaves the chain as it was.
    store
        .create_customer(scope(&a), &customer("Quiet", "quiet.com", "US", START + 6), Effects::default())
        .await
        .unwrap();

    let ra = assert_chain(store, scope(&a), 6).await;
    let rb = assert_chain(store, scope(&b), 2).await;
    let ops: Vec<&str> = ra.iter().map(|r| r.operation_type.as_str()).collect();
    assert_eq!(
        ops,
        [
            "advance_test_clock",
            "create_user",
            "create_api_token",
            "create_customer",
            "update_user",
            "advance_test_clock"
        ]
    );
    assert_eq!(rb.iter().map(|r| r.operation_type.as_str()).collect::<Vec<_>>(), ["create_user", "create_customer"]);
    assert_ne!(ra[0].hash, rb[0].hash);

    // Every field round-trips as written (and so the hash still verifies).
    assert_eq!(ra[2].customized_data, vec![("note".to_string(), "ünïcödé ✓ \"quoted\"\n".to_string())]);
    assert_eq!(ra[2].resource_type, "api_token");
    assert_eq!(ra[3].customer_id, Some(c.tenant_id));
    assert_eq!(ra[3].customer_name.as_deref(), Some("Contoso Ltd"));
    assert_eq!(ra[3].operation_date, at(START + 3));
    assert_eq!(ra[3].user_principal_name, "ann@contoso.com");
    assert_eq!(ra[3].operation_status, "succeeded");
    assert_eq!(ra[1].customer_id, None);

    // audit_chain continues after a seq, a limited number at a time.
    let mid = store.audit_chain(scope(&a), 2, 2).await.unwrap();
    assert_eq!(mid.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(mid, ra[2..4].to_vec());
    assert!(store.audit_chain(scope(&a), 6, 10).await.unwrap().is_empty());
}

// Regression test: on PostgreSQL, `apply_effects` once locked the partner row with `FOR UPDATE` after the write had
// inserted a row referencing it (the foreign key holds `FOR KEY SHARE`), so concurrent writes for one partner
// deadlocked (40P01). The chain lock is now `FOR NO KEY UPDATE`.
async fn concurrent_writes_keep_one_contiguous_chain(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: Arc<dyn Store> = Arc::new(store);
    let a = partner(&*store, "Partner A", false).await;
    let s = scope(&a);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = customer(&format!("Customer {i}"), &format!("c{i}.example.com"), "US", START + i);
                store.create_customer(s, &c, Effects::audit(customer_record(&c))).await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        t.await.unwrap().unwrap_or_else(|e| panic!("create_customer {i} failed: {e:?}"));
    }
    let records = assert_chain(&*store, s, 20).await;
    let mut names: Vec<String> = records.iter().map(|r| r.customer_name.clone().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20, "one record per customer");
    assert_eq!(store.list_customers(s, None, 500, None).await.unwrap().len(), 20);
}

/// Writes refused after appending to the chain (their idempotency completion is not theirs to make), among
/// concurrent ones that commit: the refused ones leave no record and no gap, on SQLite inside batches they share
/// with the others (each job rolled back to its own savepoint, the chain head it moved put back), and the writes
/// were grouped: fewer commits than writes.
async fn refused_writes_among_concurrent_ones_leave_the_chain_whole(backend: Db) {
    let (_db, store) = open(backend).await;
    let store = Arc::new(store);
    let a = partner(&*store, "Partner A", false).await;
    let s = scope(&a);
    let before = store.writer_stats().map(|w| w.snapshot());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = customer(&format!("Customer {i}"), &format!("c{i}.example.com"), "US", START + i);
                let mut effects = Effects::audit(customer_record(&c));
                if i % 2 == 1 {
                    // No such claim: the completion refuses the write after its record was appended.
                    effects.idempotency = completion("nobody", &format!("key-{i}"), 201, b"{}", false);
                }
                store.create_customer(s, &c, effects).await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        if i % 2 == 1 {
            assert!(matches!(result, Err(StoreError::Refused(_))), "write {i}: {result:?}");
        } else {
            result.unwrap_or_else(|e| panic!("create_customer {i} failed: {e:?}"));
        }
    }
    let records = assert_chain(&*store, s, 20).await;
    assert!(records.iter().all(|r| r
        .customer_name
        .as_deref()
        .is_some_and(|n| { n.trim_start_matches("Customer ").parse::<u32>().is_ok_and(|i| i % 2 == 0) })));
    assert_eq!(store.list_customers(s, None, 500, None).await.unwrap().len(), 20);
    if let (Some((commits0, jobs0)), Some(after)) = (before, store.writer_stats()) {
        let (commits, jobs) = after.snapshot();
        assert_eq!(jobs - jobs0, 20, "the 20 writes kept");
        assert!(commits - commits0 < 20, "writes share commits: {} commits for 20", commits - commits0);
    }
}

async fn list_audit_by_range_filter_and_page(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    let s = scope(&a);
    // The day of START (2026-01-15), as R8's inclusive UTC date range gives it: [midnight, next midnight).
    let day = START - 10 * HOUR;
    let range = DateRange { from: at(day), until: at(day + DAY) };

    let contoso = customer("CONTOSO Ltd", "contoso.com", "AU", day);
    let east = customer("Contoso East", "contoso-east.com", "US", day);
    let fabrikam = customer("Fabrikam", "fabrikam.com", "US", day);
    let in_day = |op, when, c: Option<&Customer>| {
        let r = record(op, when);
        match c {
            Some(c) => r.customer(c.tenant_id, &c.company_name),
            None => r,
        }
    };
    let records = vec![
        in_day(OperationType::CreateCustomer, day - 1, Some(&contoso)), // the day before: out
        in_day(OperationType::CreateCustomer, day, Some(&contoso)),     // midnight: in
        in_day(OperationType::GetSoftwareKey, day + HOUR, Some(&contoso)),
        in_day(OperationType::CreateCustomer, day + HOUR, Some(&east)),
        in_day(OperationType::DownloadSoftware, day + HOUR, Some(&fabrikam)),
        in_day(OperationType::CreateUser, day + HOUR, None),
        in_day(OperationType::CreateCustomer, day + 2 * HOUR, Some(&fabrikam)),
        in_day(OperationType::GetSoftwareKey, day + DAY - 1, Some(&east)), // last microsecond: in
        in_day(OperationType::CreateCustomer, day + DAY, Some(&east)),     // next midnight: out
    ];
    // Written over several writes, in date order (a record written after a later-dated one is re-dated: see
    // `late_records_are_never_dated_before_committed_ones`).
    for chunk in records.chunks(2) {
        store
            .create_user(
                scope(&a),
                &user(&a, &format!("u{}@contoso.com", chunk[0].id), &[Role::GlobalAdmin]),
                None,
                Effects { audit: chunk.to_vec(), idempotency: None, ..Effects::default() },
            )
            .await
            .unwrap();
    }
    // Another partner's records on the same day never show.
    store
        .create_user(
            scope(&b),
            &user(&b, "bob@fabrikam.com", &[Role::GlobalAdmin]),
            None,
            Effects::audit(in_day(OperationType::CreateCustomer, day + HOUR, Some(&contoso))),
        )
        .await
        .unwrap();

    let mut expected: Vec<NewAuditRecord> = records[1..8].to_vec();
    expected.sort_by_key(|r| (r.operation_date.micros(), r.id.to_string()));
    let ids = |rs: &[AuditRecord]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    let expected_ids: Vec<_> = expected.iter().map(|r| r.id).collect();
    let all = store.list_audit(s, range, None, 500, None, AuditOrder::OldestFirst).await.unwrap();
    assert_eq!(ids(&all), expected_ids, "the day's records, in (date, id) order");
    assert!(all.iter().all(|r| r.partner_id == a.id));

    let listed = |filter: &'static str| async move {
        let f = AuditFilter::parse(filter).unwrap();
        store.list_audit(s, range, Some(&f), 500, None, AuditOrder::OldestFirst).await.unwrap()
    };
    let want =
        |pred: &dyn Fn(&NewAuditRecord) -> bool| expected.iter().filter(|r| pred(r)).map(|r| r.id).collect::<Vec<_>>();
    let creates = listed(r#"{"Field":"OperationType","Value":"create_customer","Operator":"equals"}"#).await;
    assert_eq!(ids(&creates), want(&|r| r.operation_type == OperationType::CreateCustomer));
    assert_eq!(creates.len(), 3);
    let creates = listed(r#"{"Field":"OperationType","Value":"Create_Customer"}"#).await;
    assert_eq!(creates.len(), 3, "the value is case-folded; '_' is literal");
    let keys = listed(r#"{"Field":"OperationType","Value":"get_software","Operator":"starts_with"}"#).await;
    assert_eq!(ids(&keys), want(&|r| r.operation_type == OperationType::GetSoftwareKey));
    let named = listed(r#"{"Field":"CompanyName","Value":"contoso","Operator":"substring"}"#).await;
    assert_eq!(named.len(), 4);
    assert_eq!(
        ids(&named),
        want(&|r| r.customer_name.as_deref().is_some_and(|n| n.to_lowercase().contains("contoso")))
    );
    let exact = listed(r#"{"Field":"CompanyName","Value":"contoso ltd","Operator":"equals"}"#).await;
    assert_eq!(ids(&exact), want(&|r| r.customer_name.as_deref() == Some("CONTOSO Ltd")));
    let software = listed(r#"{"Field":"ResourceType","Value":"software"}"#).await;
    assert_eq!(software.len(), 3);
    let f = AuditFilter::parse(&format!(r#"{{"Field":"CustomerId","Value":"{}"}}"#, fabrikam.tenant_id)).unwrap();
    let of_fabrikam = store.list_audit(s, range, Some(&f), 500, None, AuditOrder::OldestFirst).await.unwrap();
    assert_eq!(ids(&of_fabrikam), want(&|r| r.customer_id == Some(fabrikam.tenant_id)));

    // A range of two days takes the records on both sides of midnight.
    let wide = DateRange { from: at(day - DAY), until: at(day + 2 * DAY) };
    assert_eq!(store.list_audit(s, wide, None, 500, None, AuditOrder::OldestFirst).await.unwrap().len(), 9);

    // Keyset paging: four records share one instant; pages of 2 give every record once, in order.
    for limit in [1, 2, 3] {
        let mut seen = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = store.list_audit(s, range, None, limit, after.as_ref(), AuditOrder::OldestFirst).await.unwrap();
            assert!(page.len() <= limit as usize);
            let Some(last) = page.last() else { break };
            after = Some(Cursor { at: last.operation_date, id: last.seq.to_string() });
            seen.extend(ids(&page));
        }
        assert_eq!(seen, expected_ids, "limit {limit}");
    }
    // Newest first, as the dashboard reads the log: the same records exactly reversed, page by page.
    for limit in [1, 2, 3] {
        let mut seen = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = store.list_audit(s, range, None, limit, after.as_ref(), AuditOrder::NewestFirst).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(Cursor { at: last.operation_date, id: last.seq.to_string() });
            seen.extend(ids(&page));
        }
        let mut reversed = expected_ids.clone();
        reversed.reverse();
        assert_eq!(seen, reversed, "newest first, limit {limit}");
    }
    // ...and a filter pages the same way.
    let f = AuditFilter::parse(r#"{"Field":"CompanyName","Value":"contoso","Operator":"substring"}"#).unwrap();
    let page1 = store.list_audit(s, range, Some(&f), 2, None, AuditOrder::OldestFirst).await.unwrap();
    let last = page1.last().unwrap();
    let cursor = Cursor { at: last.operation_date, id: last.seq.to_string() };
    let page2 = store.list_audit(s, range, Some(&f), 2, Some(&cursor), AuditOrder::OldestFirst).await.unwrap();
    let both: Vec<_> = ids(&page1).into_iter().chain(ids(&page2)).collect();
    assert_eq!(both, ids(&named));
}

async fn audit_records_are_append_only(backend: Db) {
    let (db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    for i in 0..3 {
        let c = customer(&format!("Customer {i}"), &format!("c{i}.example.com"), "US", START + i);
        store.create_customer(scope(&a), &c, Effects::audit(customer_record(&c))).await.unwrap();
    }
    let before = assert_chain(store, scope(&a), 3).await;

    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    for sql in [
        "UPDATE audit_records SET operation_status = 'failed'".to_string(),
        format!("UPDATE audit_records SET customer_name = 'Mallory' WHERE seq = 2 AND partner_id = '{}'", a.id),
        format!("DELETE FROM audit_records WHERE seq = 3 AND partner_id = '{}'", a.id),
        "DELETE FROM audit_records".to_string(),
    ] {
        let result = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
        assert!(result.is_err(), "the database must refuse: {sql}");
    }
    let _ = sqlx::Connection::close(conn).await;
    assert_eq!(assert_chain(store, scope(&a), 3).await, before, "nothing changed");
}

crate::on_both_backends!(
    audit_chain_is_numbered_and_linked_per_partner,
    concurrent_writes_keep_one_contiguous_chain,
    refused_writes_among_concurrent_ones_leave_the_chain_whole,
    list_audit_by_range_filter_and_page,
    audit_records_are_append_only,
);

// ---------------------------------------------------------------------------------------------------------------
// 6. Idempotency keys.

const LEASE: i64 = 30_000_000; // 30 s
const TTL: i64 = DAY;

fn claim(scope: &str, key: &str, fingerprint: &str, now: i64) -> IdempotencyClaim {
    IdempotencyClaim {
        scope: scope.into(),
        key: key.into(),
        fingerprint: fingerprint.into(),
        now: at(now),
        lease_micros: LEASE,
        ttl_micros: TTL,
    }
}

fn completion(scope: &str, key: &str, status: u16, body: &[u8], encrypted: bool) -> Option<IdempotencyCompletion> {
    // Every claim completed in these tests is taken at START.
    Some(IdempotencyCompletion {
        scope: scope.into(),
        key: key.into(),
        status,
        body: body.to_vec(),
        encrypted,
        lease_until: at(START + LEASE),
    })
}

async fn idempotency_claim_replay_and_mismatch(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let sc = format!("partner:{}", a.id);
    let t0 = START;

    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + 1)).await.unwrap(), ClaimOutcome::InProgress);
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-2", t0 + 1)).await.unwrap(), ClaimOutcome::Mismatch);

    // The write completes the record in its own transaction; a repeat replays exactly what was stored.
    let body: &[u8] = b"{\"id\":\"x\"}\x00\xff\xfe binary-safe";
    let c = customer("Contoso Ltd", "contoso.com", "AU", t0);
    let effects = Effects {
        audit: vec![customer_record(&c)],
        idempotency: completion(&sc, "k1", 201, body, true),
        ..Effects::default()
    };
    store.create_customer(scope(&a), &c, effects).await.unwrap();
    let replay = ClaimOutcome::Replay { status: 201, body: body.to_vec(), encrypted: true };
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + 2)).await.unwrap(), replay);
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-2", t0 + 2)).await.unwrap(), ClaimOutcome::Mismatch);
    // Past the lease but within the TTL a finished record still replays (the lease only guards running requests).
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + LEASE + 1)).await.unwrap(), replay);
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + TTL - 1)).await.unwrap(), replay);
    // Releasing is for failed requests only: it does not drop a finished record.
    store.release_idempotency(&sc, "k1").await.unwrap();
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + 3)).await.unwrap(), replay);

    // A plain (not encrypted) response, and a failure status, are kept as given.
    assert_eq!(store.claim_idempotency(&claim(&sc, "k2", "fp", t0)).await.unwrap(), ClaimOutcome::Claimed);
    let c2 = customer("Fabrikam", "fabrikam.com", "US", t0);
    let effects = Effects { audit: vec![], idempotency: completion(&sc, "k2", 200, b"", false), ..Effects::default() };
    store.create_customer(scope(&a), &c2, effects).await.unwrap();
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "k2", "fp", t0 + 1)).await.unwrap(),
        ClaimOutcome::Replay { status: 200, body: vec![], encrypted: false }
    );
    // The first record was not touched by the second completion.
    assert_eq!(store.claim_idempotency(&claim(&sc, "k1", "fp-1", t0 + 4)).await.unwrap(), replay);

    // A failed write rolls back its completion with it: the key stays in progress, and can be released.
    assert_eq!(store.claim_idempotency(&claim(&sc, "k3", "fp", t0)).await.unwrap(), ClaimOutcome::Claimed);
    let dup = Effects {
        audit: vec![customer_record(&c)],
        idempotency: completion(&sc, "k3", 201, b"dup", false),
        ..Effects::default()
    };
    assert!(matches!(store.create_customer(scope(&a), &c, dup).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.claim_idempotency(&claim(&sc, "k3", "fp", t0 + 1)).await.unwrap(), ClaimOutcome::InProgress);
    store.release_idempotency(&sc, "k3").await.unwrap();
    assert_eq!(store.claim_idempotency(&claim(&sc, "k3", "fp", t0 + 2)).await.unwrap(), ClaimOutcome::Claimed);
    // Released with a different body next time: the new fingerprint is the one that counts.
    store.release_idempotency(&sc, "k3").await.unwrap();
    assert_eq!(store.claim_idempotency(&claim(&sc, "k3", "fp-new", t0 + 3)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency(&claim(&sc, "k3", "fp", t0 + 4)).await.unwrap(), ClaimOutcome::Mismatch);
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 1, "only the first customer was recorded");
}

async fn idempotency_leases_ttl_scopes_and_purge(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let sc = format!("partner:{}", a.id);
    let t0 = START;

    // A request that died holding its claim: taken over once the lease has passed, and only then.
    assert_eq!(store.claim_idempotency(&claim(&sc, "dead", "fp", t0)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "dead", "fp", t0 + LEASE - 1)).await.unwrap(),
        ClaimOutcome::InProgress
    );
    assert_eq!(store.claim_idempotency(&claim(&sc, "dead", "fp", t0 + LEASE)).await.unwrap(), ClaimOutcome::Claimed);
    // The new holder has a fresh lease of its own.
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "dead", "fp", t0 + LEASE + 1)).await.unwrap(),
        ClaimOutcome::InProgress
    );
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "dead", "fp", t0 + 2 * LEASE + 1)).await.unwrap(),
        ClaimOutcome::Claimed
    );

    // A finished record older than the TTL is gone for good: the key is claimed again, for any body.
    assert_eq!(store.claim_idempotency(&claim(&sc, "old", "fp", t0)).await.unwrap(), ClaimOutcome::Claimed);
    let c = customer("Contoso Ltd", "contoso.com", "AU", t0);
    let effects =
        Effects { audit: vec![], idempotency: completion(&sc, "old", 201, b"first", false), ..Effects::default() };
    store.create_customer(scope(&a), &c, effects).await.unwrap();
    let first = ClaimOutcome::Replay { status: 201, body: b"first".to_vec(), encrypted: false };
    assert_eq!(store.claim_idempotency(&claim(&sc, "old", "fp", t0 + TTL - 1)).await.unwrap(), first);
    assert_eq!(store.claim_idempotency(&claim(&sc, "old", "other", t0 + TTL)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "old", "other", t0 + TTL + 1)).await.unwrap(),
        ClaimOutcome::InProgress
    );

    // The same key in two scopes (two partners, or a partner and the publisher) does not collide.
    let other = "publisher";
    assert_eq!(store.claim_idempotency(&claim(&sc, "shared", "fp-a", t0)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency(&claim(other, "shared", "fp-b", t0)).await.unwrap(), ClaimOutcome::Claimed);
    let c2 = customer("Fabrikam", "fabrikam.com", "US", t0);
    let effects =
        Effects { audit: vec![], idempotency: completion(&sc, "shared", 201, b"from a", false), ..Effects::default() };
    store.create_customer(scope(&a), &c2, effects).await.unwrap();
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "shared", "fp-a", t0 + 1)).await.unwrap(),
        ClaimOutcome::Replay { status: 201, body: b"from a".to_vec(), encrypted: false }
    );
    assert_eq!(
        store.claim_idempotency(&claim(other, "shared", "fp-b", t0 + 1)).await.unwrap(),
        ClaimOutcome::InProgress
    );
    store.release_idempotency(other, "shared").await.unwrap();
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "shared", "fp-a", t0 + 2)).await.unwrap(),
        ClaimOutcome::Replay { status: 201, body: b"from a".to_vec(), encrypted: false },
        "releasing one scope's key leaves the other's"
    );
    assert_eq!(store.claim_idempotency(&claim(other, "shared", "fp-b", t0 + 2)).await.unwrap(), ClaimOutcome::Claimed);
}

async fn idempotency_purge_removes_old_records(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let t0 = START;
    for (key, created) in [("a", t0), ("b", t0 + 10), ("c", t0 + 20), ("d", t0 + 30)] {
        assert_eq!(store.claim_idempotency(&claim("s", key, "fp", created)).await.unwrap(), ClaimOutcome::Claimed);
    }
    assert_eq!(store.purge_idempotency(at(t0)).await.unwrap(), 0, "strictly older only");
    assert_eq!(store.purge_idempotency(at(t0 + 20)).await.unwrap(), 2);
    assert_eq!(store.purge_idempotency(at(t0 + 20)).await.unwrap(), 0);
    // Purged keys are new again; the others are still held.
    assert_eq!(store.claim_idempotency(&claim("s", "a", "other", t0 + 40)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency(&claim("s", "b", "other", t0 + 40)).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency(&claim("s", "c", "other", t0 + 40)).await.unwrap(), ClaimOutcome::Mismatch);
    assert_eq!(store.claim_idempotency(&claim("s", "d", "fp", t0 + 40)).await.unwrap(), ClaimOutcome::InProgress);
    assert_eq!(store.purge_idempotency(at(t0 + 1_000)).await.unwrap(), 4);
}

async fn idempotency_concurrent_claims_have_one_winner(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: Arc<dyn Store> = Arc::new(store);
    for round in 0..3 {
        let key = format!("race-{round}");
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let store = store.clone();
                let c = claim("partner:x", &key, "fp", START);
                tokio::spawn(async move { store.claim_idempotency(&c).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap().unwrap());
        }
        let claimed = outcomes.iter().filter(|o| **o == ClaimOutcome::Claimed).count();
        assert_eq!(claimed, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, ClaimOutcome::Claimed | ClaimOutcome::InProgress)), "{outcomes:?}");
    }
    // Racing to take over an abandoned claim also has one winner.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let c = claim("partner:x", "race-0", "fp", START + LEASE + 5);
            tokio::spawn(async move { store.claim_idempotency(&c).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == ClaimOutcome::Claimed).count(), 1, "takeover: {outcomes:?}");
}

crate::on_both_backends!(
    idempotency_claim_replay_and_mismatch,
    idempotency_leases_ttl_scopes_and_purge,
    idempotency_purge_removes_old_records,
    idempotency_concurrent_claims_have_one_winner,
    a_request_that_lost_its_claim_changes_nothing
);

// ---------------------------------------------------------------------------------------------------------------
// More concurrency: different kinds of writes for one partner, and races on one unique key.

// Regression test for the same deadlock, through every write path that appends to the chain.
async fn concurrent_mixed_writes_keep_one_chain(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: Arc<dyn Store> = Arc::new(store);
    let a = partner(&*store, "Sandbox A", true).await;
    let s = scope(&a);
    let mut tasks = Vec::new();
    for i in 0..24_i64 {
        let store = store.clone();
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => {
                    let c = customer(&format!("Customer {i}"), &format!("c{i}.example.com"), "US", START + i);
                    store.create_customer(s, &c, Effects::audit(customer_record(&c))).await
                }
                1 => {
                    let u = user(&a, &format!("user{i}@contoso.com"), &[Role::AdminAgent]);
                    store
                        .create_user(
                            PartnerScope::authenticated(u.partner_id),
                            &u,
                            None,
                            Effects::audit(record(OperationType::CreateUser, START + i)),
                        )
                        .await
                }
                _ => store
                    .advance_clock(
                        s,
                        HOUR,
                        i64::MAX,
                        Effects::audit(record(OperationType::AdvanceTestClock, START + i)),
                    )
                    .await
                    .map(|_| ()),
            }
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        t.await.unwrap().unwrap_or_else(|e| panic!("write {i} failed: {e:?}"));
    }
    assert_chain(&*store, s, 24).await;
    assert_eq!(store.get_partner(a.id).await.unwrap().unwrap().clock_offset_micros, 8 * HOUR);
    assert_eq!(store.list_users(s, 500, None).await.unwrap().len(), 8);
    assert_eq!(store.list_customers(s, None, 500, None).await.unwrap().len(), 8);
}

async fn concurrent_duplicates_have_one_winner(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: Arc<dyn Store> = Arc::new(store);
    let a = partner(&*store, "Partner A", false).await;
    let s = scope(&a);
    // Ten customers with one domain, ten users with one e-mail (in different letter cases), all at once.
    let customers: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let c = customer(&format!("Contoso {i}"), "contoso.com", "US", START + i);
            tokio::spawn(async move { store.create_customer(s, &c, Effects::audit(customer_record(&c))).await })
        })
        .collect();
    let users: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let u = user(&a, if i % 2 == 0 { "Ann@Contoso.com" } else { "ANN@contoso.com" }, &[Role::AdminAgent]);
            tokio::spawn(async move {
                store.create_user(PartnerScope::authenticated(u.partner_id), &u, None, Effects::default()).await
            })
        })
        .collect();
    for (what, tasks) in [("customer", customers), ("user", users)] {
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => panic!("{what}: expected Ok or Conflict, got {e:?}"),
            }
        }
        assert_eq!(ok, 1, "exactly one {what} is created");
    }
    assert_eq!(store.list_customers(s, None, 500, None).await.unwrap().len(), 1);
    assert_eq!(store.list_users(s, 500, None).await.unwrap().len(), 1);
    assert_chain(&*store, s, 1).await;
}

crate::on_both_backends!(concurrent_mixed_writes_keep_one_chain, concurrent_duplicates_have_one_winner);

/// A request that ran past its lease lost its claim to a retry: its completion fails and its change rolls back, so
/// the change is made once, by the retry.
async fn a_request_that_lost_its_claim_changes_nothing(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let sc = format!("partner:{}", a.id);
    assert_eq!(store.claim_idempotency(&claim(&sc, "slow", "fp", START)).await.unwrap(), ClaimOutcome::Claimed);
    // The retry takes the key over once the lease has run out.
    assert_eq!(store.claim_idempotency(&claim(&sc, "slow", "fp", START + LEASE)).await.unwrap(), ClaimOutcome::Claimed);
    let c = customer("Contoso Ltd", "contoso.com", "AU", START);
    let late = Effects {
        audit: vec![customer_record(&c)],
        idempotency: completion(&sc, "slow", 201, b"late", false),
        ..Effects::default()
    };
    let refused = store.create_customer(scope(&a), &c, late).await;
    assert!(matches!(refused, Err(StoreError::Refused(domain::DomainError::RequestInProgress))), "{refused:?}");
    assert_eq!(store.get_customer(scope(&a), c.tenant_id).await.unwrap(), None, "the late change rolled back");
    assert_eq!(store.audit_head(scope(&a)).await.unwrap().0, 0);
    // The retry, holding the new lease, completes.
    let mut done = completion(&sc, "slow", 201, b"retry", false).unwrap();
    done.lease_until = at(START + 2 * LEASE);
    let retry = Effects { audit: vec![customer_record(&c)], idempotency: Some(done), ..Effects::default() };
    store.create_customer(scope(&a), &c, retry).await.unwrap();
    assert_eq!(
        store.claim_idempotency(&claim(&sc, "slow", "fp", START + LEASE + 1)).await.unwrap(),
        ClaimOutcome::Replay { status: 201, body: b"retry".to_vec(), encrypted: false }
    );
}
