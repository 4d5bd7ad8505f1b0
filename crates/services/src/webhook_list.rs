//! The paged list of a partner's webhook endpoints (`GET /v1/webhooks`), global admins only.

use crate::{Actor, Result, Services};
use domain::paging::{Cursor, Page, PageSize};
use domain::policy::Action;
use domain::webhook::WebhookEndpoint;

impl Services {
    /// A page of the partner's endpoints, oldest first (never their secrets).
    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn page_webhooks(
        &self,
        actor: &Actor,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<WebhookEndpoint>> {
        let scope = actor.authorize(Action::ManageWebhooks)?;
        let rows = self.store.page_webhooks(scope, size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |e| Cursor { at: e.created_at, id: e.id.to_string() }))
    }
}
