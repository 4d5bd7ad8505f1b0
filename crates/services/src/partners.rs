//! Partners (the publisher creates them) and the sandbox test clock (SPEC §3).

use crate::auth::Publisher;
use crate::idempotency::{completion, Keep};
use crate::{Actor, Result, Services};
use domain::audit::{NewAuditRecord, OperationType};
use domain::ids::PartnerId;
use domain::operator::{OperatorAction, OperatorOperation};
use domain::paging::{Cursor, Page, PageSize};
use domain::partner::{clock_advance, clock_after_advance, clock_passes_its_end, Partner, CLOCK_MAX};
use domain::policy::Action;
use domain::{DomainError, Timestamp};
use store::{Effects, PartnerScope};

impl Services {
    /// Onboards a partner (operator admins).
    #[tracing::instrument(skip_all)]
    pub async fn create_partner(
        &self,
        publisher: &Publisher,
        name: &str,
        sandbox: bool,
        clock_start: Option<&str>,
        keep: Option<&dyn Keep<Partner>>,
    ) -> Result<Partner> {
        publisher.authorize(OperatorAction::ManagePartners)?;
        let clock_start = match clock_start {
            Some(s) => Some(
                Timestamp::parse_rfc3339(s)
                    .ok_or_else(|| DomainError::invalid("clockStart", "expected an RFC 3339 date-time"))?,
            ),
            None => None,
        };
        let partner = Partner::new(name, sandbox, clock_start, self.clock.now())?;
        let record = publisher
            .record(OperatorOperation::CreatePartner, partner.created_at)
            .partner(partner.id)
            .data("name", partner.name.clone())
            .data("sandbox", partner.sandbox.to_string());
        let effects = Effects::operator(record, completion(keep, &partner)?);
        self.store.create_partner(&partner, effects).await?;
        Ok(partner)
    }

    /// Every partner (the operator's commands).
    #[tracing::instrument(skip_all)]
    pub async fn list_partners(&self) -> Result<Vec<Partner>> {
        Ok(self.store.list_partners().await?)
    }

    /// Publisher: a page of partners, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn page_partners(
        &self,
        publisher: &Publisher,
        size: PageSize,
        after: Option<Cursor>,
    ) -> Result<Page<Partner>> {
        publisher.authorize(OperatorAction::ViewPlatform)?;
        let rows = self.store.page_partners(size.get() + 1, after.as_ref()).await?;
        Ok(Page::from_rows(rows, size, |p| Cursor { at: p.created_at, id: p.id.to_string() }))
    }

    /// For the publisher acting on one partner's data: an unknown partner is 404.
    pub(crate) async fn publisher_scope(&self, id: PartnerId) -> Result<(Partner, PartnerScope)> {
        let p = self.store.get_partner(id).await?.ok_or(DomainError::NotFound)?;
        Ok((p, PartnerScope::authenticated(id)))
    }

    pub fn test_clock_now(&self, actor: &Actor) -> Result<Timestamp> {
        actor.authorize(Action::TestClock)?;
        if !actor.partner.sandbox {
            return Err(DomainError::NotSandbox.into());
        }
        Ok(self.partner_now(&actor.partner))
    }

    #[tracing::instrument(skip_all, fields(partner = %actor.partner.id))]
    pub async fn advance_test_clock(
        &self,
        actor: &Actor,
        days: i64,
        seconds: i64,
        keep: Option<&dyn Keep<Timestamp>>,
    ) -> Result<Timestamp> {
        let scope = actor.authorize(Action::TestClock)?;
        if !actor.partner.sandbox {
            return Err(DomainError::NotSandbox.into());
        }
        let micros = clock_advance(days, seconds)?;
        let server_now = self.clock.now();
        let moved_to = clock_after_advance(self.partner_now(&actor.partner), micros)?;
        // The record is dated at the new time, so the partner's log stays in time order.
        let audit = NewAuditRecord::succeeded(OperationType::AdvanceTestClock, actor.principal(), moved_to)
            .data("days", days.to_string())
            .data("seconds", seconds.to_string());
        let effects = Effects { audit: vec![audit], idempotency: completion(keep, &moved_to)?, ..Effects::default() };
        // The store checks the bound again against the offset it adds to (another move may have landed meanwhile).
        let max_offset = CLOCK_MAX.micros() - server_now.micros();
        let partner = self.store.advance_clock(scope, micros, max_offset, effects).await.map_err(|e| match e {
            store::StoreError::NotFound => clock_passes_its_end().into(),
            other => crate::Error::from(other),
        })?;
        Ok(partner.now(server_now))
    }
}
