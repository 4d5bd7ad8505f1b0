//! Pure rules of Partnerhub. No I/O, no async: everything here is a function from values to decisions,
//! so it can be unit- and property-tested without a database or a server.

pub mod audit;
pub mod cancel_reason;
pub mod cancellation;
pub mod catalog;
pub mod catalog_diff;
pub mod clock;
pub mod credit;
pub mod credit_limit;
pub mod csv;
pub mod customer;
pub mod customer_price;
pub mod download;
pub mod error;
pub mod filter;
pub mod ids;
pub mod invoice;
pub mod keys;
pub mod ledger;
pub mod market;
pub mod market_data;
pub mod money;
pub mod operator;
pub mod order;
pub mod paging;
pub mod partner;
pub mod policy;
pub mod pricelist;
pub mod rate;
pub mod reconcile;
pub mod role;
pub mod software;
pub mod subscription;
pub mod support;
pub mod timestamp;
pub mod user;
pub mod webhook;

pub use error::{DomainError, FieldError};
pub use timestamp::Timestamp;
