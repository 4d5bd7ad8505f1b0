//! Conformance, the database itself and partners: readiness, settings, backups, keyset pages of partners, and
//! activity recorded on its own — on both databases.

use crate::conformance::{at, open, partner, record, scope};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::paging::Cursor;
use store::{Effects, Store, StoreError};

crate::on_both_backends!(ping_settings_and_backups, partners_page_by_creation_and_activity_is_recorded_alone);

async fn ping_settings_and_backups(backend: Db) {
    let (_db, store) = open(backend).await;
    store.ping().await.unwrap();
    // The first value stays in force.
    assert_eq!(store.setting_or_insert("key_check", "first").await.unwrap(), "first");
    assert_eq!(store.setting_or_insert("key_check", "second").await.unwrap(), "first");
    assert_eq!(store.setting_or_insert("other", "x").await.unwrap(), "x");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    let result = store.backup_to(path.to_str().unwrap()).await;
    match backend {
        // SQLite writes a consistent copy that opens as a database with the same data.
        Db::Sqlite => {
            result.unwrap();
            let copy = store::SqlStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
            assert_eq!(copy.setting_or_insert("key_check", "third").await.unwrap(), "first");
        }
        // PostgreSQL is backed up with pg_dump: refused, nothing written.
        Db::Postgres => {
            assert!(matches!(result, Err(StoreError::Refused(_))), "{result:?}");
            assert!(!path.exists());
        }
    }
}

async fn partners_page_by_creation_and_activity_is_recorded_alone(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let mut made = Vec::new();
    for name in ["One", "Two", "Three"] {
        made.push(partner(store, name, false).await);
    }
    made.sort_by_key(|p| (p.created_at, p.id));
    assert_eq!(store.page_partners(2, None).await.unwrap(), made[..2].to_vec());
    let after = Cursor { at: made[1].created_at, id: made[1].id.to_string() };
    assert_eq!(store.page_partners(2, Some(&after)).await.unwrap(), made[2..].to_vec());
    assert_eq!(store.list_partners().await.unwrap(), made);

    // A record committed on its own joins that partner's chain, and no other.
    let (a, b) = (&made[0], &made[1]);
    let effects = Effects::audit(record(OperationType::UpdateOrder, START + 5));
    store.record_activity(scope(a), effects).await.unwrap();
    let chain = store.audit_chain(scope(a), 0, 10).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!((chain[0].seq, chain[0].operation_date), (1, at(START + 5)));
    assert_eq!(store.audit_head(scope(a)).await.unwrap(), (1, chain[0].hash.clone()));
    assert_eq!(store.audit_head(scope(b)).await.unwrap().0, 0);
}
