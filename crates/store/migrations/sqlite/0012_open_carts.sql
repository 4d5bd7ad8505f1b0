-- A customer's open cart (the dashboard's cart indicator): the most recently changed active cart of a customer.
CREATE INDEX carts_open ON carts (partner_id, customer_id, status, updated_at);
