//! The one error type of the rules, with SPEC §5's stable names and codes. Which HTTP status each one is answered
//! with is the web crate's decision (`web::error::status_of`).

/// Which field of a request was wrong, and why; shown to the client as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("missing, unknown or revoked token")]
    Unauthorized,
    #[error("this action needs one of the roles: {}", roles_list(.allowed))]
    /// The names of the roles (partner or operator) that would do.
    Forbidden { allowed: Vec<&'static str> },
    #[error("the test clock is only available to sandbox partners")]
    NotSandbox,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    DuplicateCustomer(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is still in progress; retry later")]
    RequestInProgress,
    #[error("{0}")]
    ProductUnavailableInMarket(String),
    #[error("{0}")]
    InsufficientKeyStock(String),
    #[error("this cart was already checked out (order {0}); create a new cart")]
    CartAlreadyOrdered(String),
    #[error("this software item was cancelled; its key and download links are revoked")]
    ItemCancelled,
    #[error(
        "this download link has expired (14 days after issue, or 50 downloads); an admin agent gets a new \
             link with Get keys and downloads on the customer's Software page"
    )]
    LinkExpired,
    #[error(
        "this download link was revoked because the purchase was cancelled; a cancelled purchase has no \
             downloads and no new link can be issued for it"
    )]
    LinkRevoked,
    #[error("the body is larger than the limit of {0} bytes")]
    PayloadTooLarge(u64),
    #[error("line item {line} can no longer be cancelled: its cancellation window closed at {closed_at}")]
    CancellationWindowClosed { line: u32, closed_at: String },
    #[error(
        "line item {line} ({product}) can only be cancelled through a support request; `data` holds one \
             pre-filled from the order"
    )]
    CancellationRequiresSupportRequest { line: u32, product: String, customer_id: String, order_id: String },
    #[error("line item {line} ({product}) can be neither cancelled nor exchanged")]
    NotCancellable { line: u32, product: String },
    #[error("the order has no line item {0}")]
    LineItemOutOfRange(i64),
    #[error("{0}")]
    AlreadyCancelled(String),
    #[error(
        "this credit would give back more than was charged: at most {left} {currency} is left to credit on {}",
        credit_target(.line, .order_id)
    )]
    CreditExceedsCharge { order_id: String, line: Option<u32>, left: String, currency: String },
    #[error(
        "this order ({charge} {currency}) would take the partner past its credit limit: {left} {currency} is left \
         (unbilled charges and unpaid invoices count against it); nothing was ordered"
    )]
    CreditLimitExceeded { charge: String, left: String, currency: String },
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("If-Match: the resource changed since this ETag was read; read it again and reapply the change")]
    PreconditionFailed,
    #[error("If-Match: required, with the ETag read (attributes.etag), so that a change made meanwhile is not lost")]
    PreconditionRequired,
}

fn credit_target(line: &Option<u32>, order_id: &str) -> String {
    match line {
        Some(n) => format!("line item {n} of order {order_id}"),
        None => format!("order {order_id}"),
    }
}

fn roles_list(roles: &[&str]) -> String {
    roles.join(", ")
}

impl DomainError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        DomainError::InvalidRequest(format!("{field}: {message}"))
    }

    /// The stable `errorName` of SPEC §5.
    pub fn error_name(&self) -> &'static str {
        match self {
            DomainError::InvalidRequest(_) => "invalid_request",
            DomainError::Unauthorized => "unauthorized",
            DomainError::Forbidden { .. } => "forbidden",
            DomainError::NotSandbox => "not_sandbox",
            DomainError::NotFound => "not_found",
            DomainError::DuplicateCustomer(_) => "duplicate_customer",
            DomainError::Conflict(_) => "conflict",
            DomainError::IdempotencyKeyReused => "idempotency_key_reused",
            DomainError::RequestInProgress => "request_in_progress",
            DomainError::ProductUnavailableInMarket(_) => "product_unavailable_in_market",
            DomainError::InsufficientKeyStock(_) => "insufficient_key_stock",
            DomainError::CartAlreadyOrdered(_) => "cart_already_ordered",
            DomainError::ItemCancelled => "item_cancelled",
            DomainError::LinkExpired => "link_expired",
            DomainError::LinkRevoked => "link_revoked",
            DomainError::PayloadTooLarge(_) => "payload_too_large",
            DomainError::CancellationWindowClosed { .. } => "cancellation_window_closed",
            DomainError::CancellationRequiresSupportRequest { .. } => "cancellation_requires_support_request",
            DomainError::NotCancellable { .. } => "not_cancellable",
            DomainError::LineItemOutOfRange(_) => "line_item_out_of_range",
            DomainError::AlreadyCancelled(_) => "already_cancelled",
            DomainError::CreditExceedsCharge { .. } => "credit_exceeds_charge",
            DomainError::CreditLimitExceeded { .. } => "credit_limit_exceeded",
            DomainError::RateLimited { .. } => "rate_limited",
            DomainError::PreconditionFailed => "precondition_failed",
            DomainError::PreconditionRequired => "precondition_required",
        }
    }

    /// The numeric `code` of SPEC §5.
    pub fn code(&self) -> u32 {
        match self {
            DomainError::InvalidRequest(_) => 400000,
            DomainError::Unauthorized => 401000,
            DomainError::Forbidden { .. } => 900150,
            DomainError::NotSandbox => 403001,
            DomainError::NotFound => 20000,
            DomainError::DuplicateCustomer(_) => 409001,
            DomainError::Conflict(_) => 409000,
            DomainError::IdempotencyKeyReused => 409002,
            DomainError::RequestInProgress => 409003,
            DomainError::ProductUnavailableInMarket(_) => 800070,
            DomainError::InsufficientKeyStock(_) => 10003,
            DomainError::CartAlreadyOrdered(_) => 800065,
            DomainError::ItemCancelled => 409005,
            DomainError::LinkExpired => 410001,
            DomainError::LinkRevoked => 410002,
            DomainError::PayloadTooLarge(_) => 413000,
            DomainError::CancellationWindowClosed { .. } => 900117,
            DomainError::CancellationRequiresSupportRequest { .. } | DomainError::NotCancellable { .. } => 800061,
            DomainError::LineItemOutOfRange(_) => 800071,
            DomainError::AlreadyCancelled(_) => 409004,
            DomainError::CreditExceedsCharge { .. } => 409006,
            DomainError::CreditLimitExceeded { .. } => 409007,
            DomainError::RateLimited { .. } => 429000,
            DomainError::PreconditionFailed => 412000,
            DomainError::PreconditionRequired => 428000,
        }
    }

    /// The error body's `data`: for a cancel that needs a support request, the request pre-filled from the order
    /// (the dashboard's link, and the fields for `POST /v1/servicerequests/{locale}`).
    pub fn data(&self) -> Vec<serde_json::Value> {
        match self {
            DomainError::CancellationRequiresSupportRequest { line, product, customer_id, order_id } => {
                vec![serde_json::json!({
                    "supportRequestLink": format!(
                        "/support?topic=csp_purchase_refund&customerId={customer_id}&orderId={order_id}&lineItems={line}"
                    ),
                    "supportTopicId": "csp_purchase_refund",
                    "title": format!("Cancel {product} (order {order_id}, line {line})"),
                    "refund": {"customerId": customer_id, "orderId": order_id, "lineItemNumber": line},
                })]
            }
            DomainError::CreditExceedsCharge { order_id, line, left, currency } => {
                vec![
                    serde_json::json!({"orderId": order_id, "lineItemNumber": line, "left": left, "currencyCode": currency}),
                ]
            }
            DomainError::CreditLimitExceeded { charge, left, currency } => {
                vec![serde_json::json!({"charge": charge, "left": left, "currencyCode": currency})]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_roles_that_would_do() {
        let e = DomainError::Forbidden { allowed: vec!["admin_agent", "global_admin"] };
        assert_eq!(e.to_string(), "this action needs one of the roles: admin_agent, global_admin");
        assert_eq!((e.code(), e.error_name()), (900150, "forbidden"));
    }
}
