//! Catalog imports, key stock, checkout and cancellation: what the store is handed to write.

use domain::ids::{KeyId, OrderId, SoftwareItemId, TenantId};
use domain::ledger::LedgerLine;
use domain::order::Cart;
use domain::Timestamp;

/// What a catalog import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatalogCounts {
    pub products: u64,
    pub skus: u64,
    pub prices: u64,
}

/// A key for the stock: sealed, with a keyed fingerprint to refuse duplicates.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub id: KeyId,
    pub fingerprint: String,
    pub sealed: Vec<u8>,
}

/// Where an order's cart comes from at checkout.
#[derive(Debug, Clone, Copy)]
pub enum CartClaim<'a> {
    /// A stored cart, as priced at this `updated_at`; it is claimed (`active` → `ordered`) in the order's
    /// transaction.
    Stored { version: Timestamp },
    /// A cart made for this order alone (`POST /v1/customers/{id}/orders`), written already ordered.
    Direct(&'a Cart),
}

/// A software item to create with an order line; `needs_key` takes one key from stock for it.
#[derive(Debug, Clone)]
pub struct NewSoftwareItem {
    pub id: SoftwareItemId,
    pub line_number: u32,
    pub needs_key: bool,
}

/// A cancellation to write (R10): the lines, when, and their credits.
#[derive(Debug, Clone)]
pub struct CancelLines {
    pub customer: TenantId,
    pub order_id: OrderId,
    pub lines: Vec<u32>,
    pub at: Timestamp,
    pub credits: Vec<LedgerLine>,
}

/// Which ledger rows an invoice-line read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerLines {
    /// The rows an invoice was issued with.
    Invoice(domain::ids::InvoiceId),
    /// The rows no invoice has taken yet: this month's charges and credits so far (and an earlier month's, until
    /// its invoice run).
    Unbilled,
    /// Every row of one order, billed or not (what its lines were charged and credited so far).
    Order(domain::ids::OrderId),
}
