//! The console's front page: what needs the operator's attention.

use super::{Console, ConsoleNav, ConsoleResult, OrConsole};
use crate::i18n::tr;
use crate::ui::format::filters;
use crate::ui::page;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use domain::operator::OperatorAction;
use domain::paging::PageSize;

#[derive(Template)]
#[template(path = "operator/home.html")]
struct HomePage<'a> {
    title: String,
    section: &'a str,
    nav: Option<ConsoleNav>,
    name: String,
    /// Open desk requests (up to a page), when the operator may see the desk.
    open_requests: Option<usize>,
    partners: Option<usize>,
    /// SKUs at or below their low-stock threshold.
    low_stock: Vec<super::keys::StockRow>,
}

async fn home(State(state): State<AppState>, Console(s): Console) -> ConsoleResult {
    let services = &state.services;
    let open_requests = if s.publisher.may(OperatorAction::ViewDesk) {
        let size = PageSize::parse(Some(500)).map_err(services::Error::from).or_console(&s)?;
        let open = services.desk_service_requests(&s.publisher, Some("open"), size, None).await.or_console(&s)?;
        Some(open.items.len())
    } else {
        None
    };
    let partners = services.find_partners(&s.publisher, "").await.or_console(&s)?.len();
    let low_stock =
        services.low_key_stock(&s.publisher).await.or_console(&s)?.iter().map(super::keys::stock_row).collect();
    let nav = ConsoleNav::of(&s);
    Ok(page(&HomePage {
        title: tr!("console-nav-home"),
        section: "home",
        name: s.operator().display_name.clone(),
        nav: Some(nav),
        open_requests,
        partners: Some(partners),
        low_stock,
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/operator", get(home))
}
