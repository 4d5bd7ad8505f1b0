//! Embedded migrations: one folder per backend, the same version numbers in each (a test checks).

use crate::Backend;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, name: "catalog", sql: include_str!("../migrations/sqlite/0002_catalog.sql") },
    Migration { version: 3, name: "orders", sql: include_str!("../migrations/sqlite/0003_orders.sql") },
    Migration { version: 4, name: "downloads", sql: include_str!("../migrations/sqlite/0004_downloads.sql") },
    Migration { version: 5, name: "invoices", sql: include_str!("../migrations/sqlite/0005_invoices.sql") },
    Migration {
        version: 6,
        name: "service_requests",
        sql: include_str!("../migrations/sqlite/0006_service_requests.sql"),
    },
    Migration { version: 7, name: "sessions", sql: include_str!("../migrations/sqlite/0007_sessions.sql") },
    Migration { version: 8, name: "webhooks", sql: include_str!("../migrations/sqlite/0008_webhooks.sql") },
    Migration { version: 9, name: "indexes", sql: include_str!("../migrations/sqlite/0009_indexes.sql") },
    Migration {
        version: 10,
        name: "support_request_customers",
        sql: include_str!("../migrations/sqlite/0010_support_request_customers.sql"),
    },
    Migration {
        version: 11,
        name: "customer_profiles",
        sql: include_str!("../migrations/sqlite/0011_customer_profiles.sql"),
    },
    Migration { version: 12, name: "open_carts", sql: include_str!("../migrations/sqlite/0012_open_carts.sql") },
    Migration { version: 13, name: "user_language", sql: include_str!("../migrations/sqlite/0013_user_language.sql") },
    Migration { version: 14, name: "operators", sql: include_str!("../migrations/sqlite/0014_operators.sql") },
    Migration { version: 15, name: "price_lists", sql: include_str!("../migrations/sqlite/0015_price_lists.sql") },
    Migration {
        version: 16,
        name: "customer_prices",
        sql: include_str!("../migrations/sqlite/0016_customer_prices.sql"),
    },
    Migration { version: 17, name: "credit_limits", sql: include_str!("../migrations/sqlite/0017_credit_limits.sql") },
    Migration {
        version: 30,
        name: "operator_webhook",
        sql: include_str!("../migrations/sqlite/0030_operator_webhook.sql"),
    },
    Migration {
        version: 31,
        name: "artifact_withdrawn",
        sql: include_str!("../migrations/sqlite/0031_artifact_withdrawn.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/postgres/0001_init.sql") },
    Migration { version: 2, name: "catalog", sql: include_str!("../migrations/postgres/0002_catalog.sql") },
    Migration { version: 3, name: "orders", sql: include_str!("../migrations/postgres/0003_orders.sql") },
    Migration { version: 4, name: "downloads", sql: include_str!("../migrations/postgres/0004_downloads.sql") },
    Migration { version: 5, name: "invoices", sql: include_str!("../migrations/postgres/0005_invoices.sql") },
    Migration {
        version: 6,
        name: "service_requests",
        sql: include_str!("../migrations/postgres/0006_service_requests.sql"),
    },
    Migration { version: 7, name: "sessions", sql: include_str!("../migrations/postgres/0007_sessions.sql") },
    Migration { version: 8, name: "webhooks", sql: include_str!("../migrations/postgres/0008_webhooks.sql") },
    Migration { version: 9, name: "indexes", sql: include_str!("../migrations/postgres/0009_indexes.sql") },
    Migration {
        version: 10,
        name: "support_request_customers",
        sql: include_str!("../migrations/postgres/0010_support_request_customers.sql"),
    },
    Migration {
        version: 11,
        name: "customer_profiles",
        sql: include_str!("../migrations/postgres/0011_customer_profiles.sql"),
    },
    Migration { version: 12, name: "open_carts", sql: include_str!("../migrations/postgres/0012_open_carts.sql") },
    Migration {
        version: 13,
        name: "user_language",
        sql: include_str!("../migrations/postgres/0013_user_language.sql"),
    },
    Migration { version: 14, name: "operators", sql: include_str!("../migrations/postgres/0014_operators.sql") },
    Migration { version: 15, name: "price_lists", sql: include_str!("../migrations/postgres/0015_price_lists.sql") },
    Migration {
        version: 16,
        name: "customer_prices",
        sql: include_str!("../migrations/postgres/0016_customer_prices.sql"),
    },
    Migration {
        version: 17,
        name: "credit_limits",
        sql: include_str!("../migrations/postgres/0017_credit_limits.sql"),
    },
    Migration {
        version: 30,
        name: "operator_webhook",
        sql: include_str!("../migrations/postgres/0030_operator_webhook.sql"),
    },
    Migration {
        version: 31,
        name: "artifact_withdrawn",
        sql: include_str!("../migrations/postgres/0031_artifact_withdrawn.sql"),
    },
];

pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions_in_order() {
        let v = |b| migrations(b).iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(v(Backend::Sqlite), v(Backend::Postgres));
        let versions: Vec<i64> = migrations(Backend::Sqlite).iter().map(|m| m.version).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions must increase: {versions:?}");
    }

    #[test]
    fn migration_files_are_numbered_like_their_versions() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend.name());
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let expected: Vec<String> =
                migrations(backend).iter().map(|m| format!("{:04}_{}.sql", m.version, m.name)).collect();
            assert_eq!(files, expected, "every file in {dir:?} must be embedded, and only those");
        }
    }
}
