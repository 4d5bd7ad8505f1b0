//! The Cancel dialog: a customer's orders of one product, each line with its days remaining, a closed window or a
//! link to a pre-filled support request; Submit cancels one line (R9, R10).

use super::*;
use crate::i18n::tr;
use crate::ui::format::filters;

pub struct CancelChoice {
    pub value: String,
    pub checked: bool,
    pub order_id: String,
    /// From 1, as people count.
    pub line: u32,
    pub placed: String,
    pub quantity: i64,
    pub amount: String,
    /// What cancelling now gives back; `None` when it cannot be cancelled here.
    pub credit: Option<String>,
    pub eligible: bool,
    pub note: String,
    pub support_link: Option<String>,
}

#[derive(Template)]
#[template(path = "cancel.html")]
struct CancelPage {
    title: String,
    section: &'static str,
    nav: Option<Nav>,
    head: TabHead,
    customer_id: String,
    csrf: String,
    product_id: String,
    product: String,
    choices: Vec<CancelChoice>,
    any_eligible: bool,
    problem: Option<FieldProblem>,
}

#[derive(Deserialize)]
pub(super) struct CancelQuery {
    product: Option<String>,
}

/// The Cancel dialog: the customer's orders of a product, each with its days remaining, a closed window, or a
/// link to a pre-filled support request.
pub(super) async fn cancel_dialog(
    State(state): State<AppState>,
    Signed(s): Signed,
    Path(customer_id): Path<String>,
    Query(q): Query<CancelQuery>,
) -> UiResult {
    // Only those who may cancel see the dialog; it is about one product, chosen on the Software or Orders tab.
    s.actor.authorize(Action::CancelPurchase).or_page(&s)?;
    let Some(product_id) = q.product.clone() else {
        return Ok(Redirect::to(&format!("/customers/{customer_id}/orders")).into_response());
    };
    cancel_page(&state, &s, &customer_id, &product_id, None, "").await
}

/// The dialog itself; after a refused Submit, with the problem next to the order list and the choice kept.
async fn cancel_page(
    state: &AppState,
    s: &SessionActor,
    customer_id: &str,
    product_id: &str,
    problem: Option<FieldProblem>,
    chosen: &str,
) -> UiResult {
    let customer = customer_row(state, s, customer_id).await?;
    let now = state.services.partner_now(&s.actor.partner);
    let mut choices = Vec::new();
    let mut product = product_id.to_string();
    for o in all_orders(state, s, customer_id).await? {
        for l in o.lines.iter().filter(|l| l.product_id == product_id && l.status == LineStatus::Active) {
            product = l.title.clone();
            let e = l.cancellation(o.created_at, now);
            let (note, support_link) = match e.why_not() {
                None => (tr!("cancel-days-remaining", days = e.days_remaining), None),
                Some(CancelReason::WindowClosed) => (
                    tr!(
                        "cancel-window-closed-on",
                        date = e.cancellable_until.map(|t| format::date(t.date())).unwrap_or_default()
                    ),
                    None,
                ),
                Some(CancelReason::RequiresSupportRequest) => (
                    tr!("cancel-support-only"),
                    Some(format!(
                        "/support?topic=csp_purchase_refund&customerId={}&orderId={}&lineItems={}",
                        customer.id, o.id, l.line_number
                    )),
                ),
                Some(CancelReason::NotCancellable | CancelReason::AlreadyCancelled) => {
                    (tr!("cancellation-not-cancellable"), None)
                }
            };
            let value = format!("{}:{}", o.id, l.line_number);
            choices.push(CancelChoice {
                checked: value == chosen,
                value,
                order_id: o.id.to_string(),
                line: l.line_number + 1,
                placed: format::when(o.created_at),
                quantity: l.pricing.quantity,
                amount: format::money(l.pricing.gross, &o.currency),
                credit: e.eligible.then(|| format::money(cancel_credit(&o, l, now), &o.currency)),
                eligible: e.eligible,
                note,
                support_link,
            });
        }
    }
    // Newest first, as on the Orders tab.
    choices.reverse();
    let status = problem.as_ref().map(|p| p.status);
    let any_eligible = choices.iter().any(|c| c.eligible);
    let res = page(&CancelPage {
        any_eligible,
        title: format!("{} · {}", customer.name, tr!("action-cancel")),
        section: "customers",
        nav: Some(Nav::of(s)),
        customer_id: customer.id.clone(),
        head: TabHead::new(state, s, customer, "software", None).await,
        csrf: s.csrf.clone(),
        product_id: product_id.to_string(),
        product,
        choices,
        problem,
    });
    Ok(match status {
        Some(st) => with_status(res, st),
        None => res,
    })
}

#[derive(Deserialize)]
pub(super) struct CancelForm {
    choice: Option<String>,
    product: Option<String>,
}

/// Submit: cancels the chosen line and redirects (post/redirect/get) to the Software tab, which names what was
/// cancelled; a refusal re-renders the dialog with the reason next to the order list.
pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(customer_id): Path<String>,
    SignedForm { session: s, form }: SignedForm<CancelForm>,
) -> UiResult {
    let choice = form.choice.unwrap_or_default();
    let product = form.product.unwrap_or_default();
    let parsed = choice.split_once(':').and_then(|(o, l)| Some((o.to_string(), l.parse::<i64>().ok()?)));
    let Some((order, line)) = parsed else {
        let problem =
            FieldProblem::new("choice", tr!("problem-choose-order-none"), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        return cancel_page(&state, &s, &customer_id, &product, Some(problem), "").await;
    };
    let (customer, order_id) = (parse_id(&customer_id), parse_id(&order));
    match async { state.services.cancel_order(&s.actor, customer?, order_id?, Some(vec![line]), None).await }.await {
        Ok(done) => {
            Ok(Redirect::to(&format!("/customers/{customer_id}/software?cancelled={}&lines={}", done.id, line + 1))
                .into_response())
        }
        Err(e) => match form_problem(&e) {
            Some(p) => cancel_page(&state, &s, &customer_id, &product, Some(p), &choice).await,
            None => Err(e).or_page(&s),
        },
    }
}
