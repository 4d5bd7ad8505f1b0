//! Conformance, files and download links (R6, R7): artifacts, links issued for a software item, found by their
//! token's hash, and redeemed by one conditional count in the link's partner's scope — on both databases.

use crate::conformance::{at, open, partner, record, scope, HOUR};
use crate::conformance_commerce::{cart_of, checkout, shop};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::credit::LineCredit;
use domain::download::{LinkState, Transfer};
use domain::ids::{ArtifactId, DownloadLinkId};
use domain::order::LineStatus;
use domain::software::Artifact;
use domain::DomainError;
use store::{CancelLines, CartClaim, Effects, LedgerLine, NewDownloadLink, Store, StoreError};

crate::on_every_blob_store!(artifacts_links_and_redemptions);

fn artifact(version: &str, language: &str, created_at: i64) -> Artifact {
    Artifact {
        id: ArtifactId::new(),
        product_id: "PERP".into(),
        version: version.into(),
        language: language.into(),
        file_type: "iso".into(),
        file_name: format!("perp-{version}-{language}.iso"),
        size: 1_024,
        sha256: "ab".repeat(32),
        blob_key: format!("artifacts/{version}-{language}"),
        created_at: at(created_at),
    }
}

fn link(hash: &str, c: domain::ids::TenantId, a: &Artifact, state: LinkState) -> NewDownloadLink {
    NewDownloadLink {
        id: DownloadLinkId::new(),
        token_hash: hash.into(),
        customer_id: c,
        artifact_id: a.id,
        issued_by: "ann@contoso.com".into(),
        state,
    }
}

async fn artifacts_links_and_redemptions(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let (p, c, market) = shop(store, 2).await;
    let other = partner(store, "Partner B", false).await;
    let cart = cart_of(&c, &market, &["PERP"], START);
    let order = checkout(store, scope(&p), &c, &market, &cart, CartClaim::Direct(&cart), START).await.unwrap();
    let item = store.list_software(scope(&p), c.tenant_id, 10, None).await.unwrap().remove(0);

    // Files, by version, language, file type and upload time.
    let (de, en, old) = (artifact("2.0", "de", START), artifact("2.0", "en", START), artifact("1.0", "en", START + 1));
    for a in [&de, &en, &old] {
        store.add_artifact(a, Effects::default()).await.unwrap();
    }
    assert_eq!(store.list_artifacts("PERP").await.unwrap(), vec![old.clone(), de.clone(), en.clone()]);
    assert!(store.list_artifacts("SUB").await.unwrap().is_empty());

    // Links are issued for the partner's own item only, and found by their token's hash.
    let fresh = link("hash-en", c.tenant_id, &en, LinkState::issued(at(START)));
    let few = LinkState { max_downloads: 2, ..LinkState::issued(at(START)) };
    let short = link("hash-de", c.tenant_id, &de, few);
    let err = store.issue_links(scope(&other), item.id, std::slice::from_ref(&fresh), Effects::default()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    let issued = Effects::audit(record(OperationType::GetSoftwareDownloadLink, START));
    store.issue_links(scope(&p), item.id, &[fresh.clone(), short.clone()], issued).await.unwrap();
    assert!(store.find_link("no-such-hash").await.unwrap().is_none());
    let found = store.find_link("hash-en").await.unwrap().unwrap();
    assert_eq!((found.id, &found.partner, found.customer_id), (fresh.id, &p, c.tenant_id));
    assert_eq!((found.software_item_id, &found.artifact, &found.state), (item.id, &en, &fresh.state));
    assert_eq!(found.customer_name, c.company_name);

    // A counted download takes one; a resume is admitted without counting; another partner's scope finds nothing.
    let head = store.audit_head(scope(&p)).await.unwrap().0;
    let record_at = |n: i64| Effects::audit(record(OperationType::DownloadSoftware, START + n));
    let now = at(START + HOUR);
    let state = store.redeem_link(scope(&p), fresh.id, now, Transfer::Full, record_at(1)).await.unwrap();
    assert_eq!(state.downloads, 1);
    let resume = Transfer::Partial { start: 10, end: 20 };
    assert_eq!(store.redeem_link(scope(&p), fresh.id, now, resume, record_at(2)).await.unwrap().downloads, 1);
    let err = store.redeem_link(scope(&other), fresh.id, now, Transfer::Full, record_at(3)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.find_link("hash-en").await.unwrap().unwrap().state.downloads, 1);
    assert_eq!(store.audit_head(scope(&p)).await.unwrap().0, head + 2, "one record per admitted transfer");
    assert_eq!(store.audit_head(scope(&other)).await.unwrap().0, 0);

    // The limit is exact, and a refusal writes nothing; after the 14 days, nothing is admitted.
    for _ in 0..2 {
        store.redeem_link(scope(&p), short.id, now, Transfer::Full, Effects::default()).await.unwrap();
    }
    let err = store.redeem_link(scope(&p), short.id, now, Transfer::Full, record_at(4)).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::LinkExpired)), "{err:?}");
    assert_eq!(store.find_link("hash-de").await.unwrap().unwrap().state.downloads, 2);
    let late = fresh.state.expires_at;
    let err = store.redeem_link(scope(&p), fresh.id, late, resume, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::LinkExpired)), "{err:?}");
    assert_eq!(store.audit_head(scope(&p)).await.unwrap().0, head + 2);

    // The item's links, newest first, in the partner's scope only; one revoked by itself, once.
    let listed = store.list_item_links(scope(&p), c.tenant_id, item.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let en_listed = listed.iter().find(|l| l.id == fresh.id).unwrap();
    assert_eq!(
        (&en_listed.artifact, en_listed.issued_by.as_str(), en_listed.state.downloads),
        (&en, "ann@contoso.com", 1)
    );
    assert!(store.list_item_links(scope(&other), c.tenant_id, item.id).await.unwrap().is_empty());
    let head = store.audit_head(scope(&p)).await.unwrap().0;
    let revoking = || Effects::audit(record(OperationType::RevokeSoftwareDownloadLink, START + 5));
    let err = store.revoke_link(scope(&other), c.tenant_id, item.id, short.id, now, revoking()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(store.revoke_link(scope(&p), c.tenant_id, item.id, short.id, now, revoking()).await.unwrap());
    assert!(!store.revoke_link(scope(&p), c.tenant_id, item.id, short.id, now, revoking()).await.unwrap(), "once");
    assert_eq!(store.audit_head(scope(&p)).await.unwrap().0, head + 1, "one record, for the one revocation");
    let err = store.revoke_link(scope(&p), c.tenant_id, item.id, DownloadLinkId::new(), now, revoking()).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    assert!(store.find_link("hash-de").await.unwrap().unwrap().state.revoked);
    assert!(!store.find_link("hash-en").await.unwrap().unwrap().state.revoked, "the other link still works");

    // Cancelling the line revokes every link of its item, and refuses new ones.
    let line = &order.lines[0];
    let credit = LineCredit { line_number: line.line_number, net: line.pricing.net.minor, tax: line.pricing.tax.minor };
    let cancel = CancelLines {
        customer: c.tenant_id,
        order_id: order.id,
        lines: vec![line.line_number],
        at: now,
        credits: vec![LedgerLine::cancel_credit(&order, line, &credit, now)],
    };
    store.cancel_lines(scope(&p), &cancel, Effects::default()).await.unwrap();
    assert_eq!(store.list_software(scope(&p), c.tenant_id, 10, None).await.unwrap()[0].status, LineStatus::Cancelled);
    assert!(store.find_link("hash-en").await.unwrap().unwrap().state.revoked);
    let err = store.redeem_link(scope(&p), fresh.id, now, Transfer::Full, Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::LinkRevoked)), "{err:?}");
    let again = link("hash-new", c.tenant_id, &en, LinkState::issued(now));
    let err = store.issue_links(scope(&p), item.id, &[again], Effects::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Refused(DomainError::ItemCancelled)), "{err:?}");
    assert!(store.find_link("hash-new").await.unwrap().is_none());
}
