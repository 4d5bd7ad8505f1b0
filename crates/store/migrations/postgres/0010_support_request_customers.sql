-- Issue 20: a support request names the customer it is about (GET /v1/customers/{customerId}/servicerequests) and
-- when it was closed (Partner Center's lastClosedDate).

ALTER TABLE service_requests ADD COLUMN customer_id TEXT;
ALTER TABLE service_requests ADD COLUMN closed_at BIGINT;

-- Requests filed before: the customer their refund block names, by tenant id or by one of the partner's domains.
UPDATE service_requests SET customer_id = refund::json ->> 'customerId'
    WHERE refund IS NOT NULL AND refund::json ->> 'customerId' IS NOT NULL;
UPDATE service_requests SET customer_id = (
        SELECT c.tenant_id FROM customers c
        WHERE c.partner_id = service_requests.partner_id AND c.domain = service_requests.refund::json ->> 'customerDomain')
    WHERE customer_id IS NULL AND refund IS NOT NULL AND refund::json ->> 'customerDomain' IS NOT NULL;
-- Nothing changes a closed request, so its last update is when it was closed.
UPDATE service_requests SET closed_at = updated_at WHERE status = 'closed';

CREATE INDEX service_requests_customer ON service_requests (partner_id, customer_id, created_at, id)
    WHERE customer_id IS NOT NULL;
