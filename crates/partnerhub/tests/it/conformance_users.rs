//! Conformance, users and sessions: what the tenant scope refuses at creation (users, tokens, sessions), dashboard
//! sessions, and sign-in throttling — on both databases.

use crate::conformance::{at, open, partner, record, scope, token, user, HOUR};
use crate::harness::{Db, START};
use domain::audit::OperationType;
use domain::role::Role;
use store::{Effects, Store, StoreError};

crate::on_both_backends!(
    users_tokens_and_sessions_are_created_only_in_their_partners_scope,
    sessions_live_until_deleted_or_purged,
    sign_in_failures_count_per_window
);

async fn users_tokens_and_sessions_are_created_only_in_their_partners_scope(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let b = partner(store, "Partner B", false).await;
    let ann = user(&a, "ann@contoso.com", &[Role::AdminAgent]);

    // A user of partner A written through B's scope: refused, nothing written, nothing recorded.
    let err = store
        .create_user(scope(&b), &ann, None, Effects::audit(record(OperationType::CreateUser, START)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.get_user(scope(&a), ann.id).await.unwrap(), None);
    assert_eq!(store.audit_head(scope(&b)).await.unwrap().0, 0);
    store.create_user(scope(&a), &ann, None, Effects::default()).await.unwrap();

    // A token for A's user through B's scope: the insert finds no such user of B.
    let t = token(&ann, "ci", START);
    let err = store
        .create_token(scope(&b), &t, "hash-t", Effects::audit(record(OperationType::CreateApiToken, START)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(store.authenticate("hash-t").await.unwrap().is_none());
    assert_eq!(store.audit_head(scope(&b)).await.unwrap().0, 0);
    store.create_token(scope(&a), &t, "hash-t", Effects::default()).await.unwrap();
    assert_eq!(store.authenticate("hash-t").await.unwrap().map(|(id, _, _)| id), Some(t.id));

    // A session for A's user through B's scope: refused likewise.
    let err = store.create_session(scope(&b), "s-b", ann.id, "csrf", at(START)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(store.session("s-b").await.unwrap().is_none());
    store.create_session(scope(&a), "s-a", ann.id, "csrf", at(START)).await.unwrap();
    let live = store.session("s-a").await.unwrap().unwrap();
    assert_eq!(
        (live.user, live.partner, live.csrf.as_str(), live.last_seen, live.language),
        (ann.clone(), a.clone(), "csrf", at(START), None)
    );

    // A's user's language through B's scope: refused, nothing saved; through A's: the session carries it.
    let err = store.set_user_language(scope(&b), ann.id, Some("zh-TW")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.session("s-a").await.unwrap().unwrap().language, None);
    store.set_user_language(scope(&a), ann.id, Some("zh-TW")).await.unwrap();
    assert_eq!(store.session("s-a").await.unwrap().unwrap().language.as_deref(), Some("zh-TW"));
    store.set_user_language(scope(&a), ann.id, None).await.unwrap();
    assert_eq!(store.session("s-a").await.unwrap().unwrap().language, None);
}

async fn sessions_live_until_deleted_or_purged(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    let a = partner(store, "Partner A", false).await;
    let ann = user(&a, "ann@contoso.com", &[Role::AdminAgent]);
    store.create_user(scope(&a), &ann, None, Effects::default()).await.unwrap();
    store.create_session(scope(&a), "one", ann.id, "csrf-1", at(START)).await.unwrap();
    store.create_session(scope(&a), "two", ann.id, "csrf-2", at(START)).await.unwrap();
    assert!(store.session("nobody").await.unwrap().is_none());

    // Touching moves the last activity; deleting ends that session only.
    store.touch_session("two", at(START + HOUR)).await.unwrap();
    assert_eq!(store.session("two").await.unwrap().unwrap().last_seen, at(START + HOUR));
    assert_eq!(store.session("one").await.unwrap().unwrap().last_seen, at(START));
    store.delete_session("one").await.unwrap();
    assert!(store.session("one").await.unwrap().is_none());
    assert!(store.session("two").await.unwrap().is_some());

    // Purging takes the sessions idle since before the cut (and failure windows begun before theirs).
    store.record_sign_in_failure("old", at(START), HOUR).await.unwrap();
    store.record_sign_in_failure("new", at(START + 2 * HOUR), HOUR).await.unwrap();
    store.create_session(scope(&a), "idle", ann.id, "csrf-3", at(START)).await.unwrap();
    let gone = store.purge_sessions(at(START + 1), at(START + HOUR)).await.unwrap();
    assert_eq!(gone, 2, "the idle session and the old failure window");
    assert!(store.session("idle").await.unwrap().is_none());
    assert!(store.session("two").await.unwrap().is_some(), "active since START + 1 h");
    assert_eq!(store.sign_in_failures("new", at(START + 2 * HOUR), HOUR).await.unwrap(), 1);
    assert_eq!(store.sign_in_failures("old", at(START), HOUR).await.unwrap(), 0);
}

async fn sign_in_failures_count_per_window(backend: Db) {
    let (_db, store) = open(backend).await;
    let store: &dyn Store = &store;
    assert_eq!(store.sign_in_failures("k", at(START), HOUR).await.unwrap(), 0);
    for n in 1..=3 {
        assert_eq!(store.record_sign_in_failure("k", at(START + n), HOUR).await.unwrap(), n);
    }
    assert_eq!(store.record_sign_in_failure("other", at(START), HOUR).await.unwrap(), 1, "counted per key");
    assert_eq!(store.sign_in_failures("k", at(START + 10), HOUR).await.unwrap(), 3);
    // Once the window has passed, the count is gone, and the next failure starts a new window at one.
    assert_eq!(store.sign_in_failures("k", at(START + HOUR + 1), HOUR).await.unwrap(), 0);
    assert_eq!(store.record_sign_in_failure("k", at(START + HOUR + 1), HOUR).await.unwrap(), 1);
    assert_eq!(store.record_sign_in_failure("k", at(START + HOUR + 2), HOUR).await.unwrap(), 2);
    // Clearing forgets the key only.
    store.clear_sign_in_failures("k").await.unwrap();
    assert_eq!(store.sign_in_failures("k", at(START + HOUR + 3), HOUR).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures("other", at(START + 1), HOUR).await.unwrap(), 1);
}
