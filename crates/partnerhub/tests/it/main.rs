//! The one integration-test binary (each extra binary costs link time on 2 cores). Every test runs on both
//! backends: SQLite in a temp folder, and PostgreSQL from `PARTNERHUB_TEST_PG_URL` (scripts/test starts a
//! throwaway cluster). Without that variable the PostgreSQL tests FAIL; they never skip. The tests that store and
//! serve files also run with their files in S3 (`on_every_blob_store!`: `PARTNERHUB_TEST_S3_URL` and the `AWS_*`
//! variables, from scripts/test's SeaweedFS endpoint or scripts/with-s3); without it those FAIL too.

// A test crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod api_audit;
mod api_basics;
mod api_cancellations;
mod api_catalog;
mod api_credit_limits;
mod api_customers;
mod api_downloads;
mod api_invoices;
mod api_orders;
mod api_pricelists;
mod api_prices;
mod api_reconciliation;
mod api_support;
mod api_users;
mod api_webhooks;
mod cli;
mod conformance;
mod conformance_admin;
mod conformance_billing;
mod conformance_commerce;
mod conformance_downloads;
mod conformance_support;
mod conformance_users;
mod conformance_webhooks;
mod console_catalog;
mod console_pricing;
mod hardening;
mod money;
mod operators;
mod pc_compat;
mod pc_support_invoices;
mod reliability;
mod roles;
mod scale_out;
mod ui_basics;
mod ui_economics;
mod ui_language;

/// Declares `$name::sqlite` and `$name::postgres`, each running `async fn $name(backend)` on a fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            $crate::on_each_database!($name);
        }
    )*};
}

/// [`on_both_backends!`] and a third test, `$name::s3`: on PostgreSQL with the app's files in the S3 test bucket
/// (the configuration several servers share), for the tests that store and serve files.
#[macro_export]
macro_rules! on_every_blob_store {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            $crate::on_each_database!($name);
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                $crate::harness::on_s3(super::$name($crate::harness::Db::Postgres)).await
            }
        }
    )*};
}

/// The `sqlite` and `postgres` tests of one `async fn $name(backend)`, inside its module.
#[macro_export]
macro_rules! on_each_database {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            super::$name($crate::harness::Db::Sqlite).await
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            super::$name($crate::harness::Db::Postgres).await
        }
    };
}
