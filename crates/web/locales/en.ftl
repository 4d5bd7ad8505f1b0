# Partnerhub's pages in English. Every key here is in every other catalog (the tests in src/i18n/tests.rs check
# it), and every key is used by a template or handler. Variables are written { $name }.

language-name = English

## Formats: the pages' dates, times, terms and currency symbols.

format-date = { $month_name } { $day }, { $year }
format-when = { $date }, { $time } UTC
format-month = { $month_name } { $year }
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
term-years = { $n ->
    [one] { $n } year
   *[other] { $n } years
}
term-months = { $n ->
    [one] { $n } month
   *[other] { $n } months
}
term-perpetual = perpetual
currency-USD = $
currency-TWD = NT$
currency-AUD = A$
currency-CAD = CA$
currency-NZD = NZ$
currency-GBP = £
currency-EUR = €
currency-JPY = ¥
currency-BRL = R$
currency-INR = ₹
size-bytes = { $n ->
    [one] { $n } byte
   *[other] { $n } bytes
}
list-separator = ;{" "}
list-comma = ,{" "}

## The layout, sign-in and shared words.

base-skip = Skip to main content
base-nav-label = Main
base-language-label = Language
base-sign-out = Sign out
nav-customers = Customers
nav-activity = Activity log
nav-support = Support
nav-billing = Billing
nav-settings = Settings
login-heading = Sign in to Partnerhub
login-submit = Sign in
login-expired = This sign-in form has expired or did not come from this site; please sign in again.
login-wrong = Wrong email or password.
login-failed = Something went wrong; try again.
field-email = Email
field-password = Password
field-required = (required)
action-cancel = Cancel
action-cancel-more = Cancel…
action-copy = Copy
action-copied = Copied
action-delete = Delete
action-revoke = Revoke
action-save = Save
action-show = Show
page-next = Next page
col-cancellation = Cancellation
col-currency = Currency
col-customer = Customer
col-date = Date
col-domain = Domain
col-expires = Expires
col-gross = Gross
col-invoice = Invoice
col-line = Line
col-list-price = List price
col-market = Market
col-name = Name
col-net = Net
col-order = Order
col-period = Period
col-product = Product
col-purchased = Purchased
col-qty = Qty
col-quantity = Quantity
col-sku = SKU
col-status = Status
col-subtotal = Subtotal
col-tax = Tax
col-tenant-id = Tenant id
col-term = Term
col-total = Total
col-type = Type
col-unit-price = Unit price
col-when = When (UTC)

## Errors.

error-back = Back to customers
error-forbidden = Not allowed
error-forbidden-text = This needs one of these roles: { $roles }. A global admin can give roles under Settings.
error-not-found = Not found
error-not-found-text = There is no such page or object.
error-refused = That did not work
error-internal = Something went wrong
error-internal-text = It has been logged.
error-unavailable = Temporarily unavailable
error-unavailable-text = Partnerhub cannot reach its database right now. Nothing was changed; try again in a few seconds.
error-form-expired = this form has expired or did not come from this site; reload the page and try again
error-unknown-language = Not a language of these pages.
error-not-sandbox = The test clock is only available to sandbox partners.
error-link-expired = This download link has expired (14 days after issue, or 50 downloads). Get keys and downloads again for a new one.
error-link-revoked = This download link was revoked because the purchase was cancelled.
error-rate-limited = { $seconds ->
    [one] Too many attempts; try again in 1 second.
   *[other] Too many attempts; try again in { $seconds } seconds.
}
problem-quantity = Quantity must be 1 to { $max }.
problem-whole-quantity = Quantity must be a whole number from 1 to { $max }.
problem-subscription-id = Enter the Azure subscription ID this reservation is for: 32 hexadecimal digits, such as 0f8fad5b-d9cb-469f-a165-70867728950e.
problem-not-offered = This product is not offered to this customer.
problem-start-after-end = The start date is after the end date: choose a start on or before the end.
problem-date-format = Enter a date as year-month-day, such as 2026-11-24.
problem-not-in-market = This product is not offered in the customer's market.
problem-cart-ordered = This cart was already checked out as order { $order }; nothing was ordered twice.
problem-no-keys = There are not enough activation keys in stock for this order; nothing was ordered. Try a smaller quantity or ask the publisher to add keys.
problem-window-closed = Line { $line } can no longer be cancelled: its window closed on { $closed }.
problem-support-only = Line { $line } can only be cancelled through a support request.
problem-not-cancellable = Line { $line } ({ $product }) cannot be cancelled.
problem-already-cancelled = This line was cancelled already.
problem-choose-order = Choose one of the orders listed.
problem-choose-order-none = Choose the order to cancel: none was chosen.
problem-credit-left = Only { $left } is left to credit on this order.
problem-too-large = That is too large: the limit is { $limit }.
problem-file-too-large = The file is larger than { $limit }: attach a smaller one, or several parts.
problem-upload-unreadable = The upload could not be read; try again.
problem-choose-file = Choose a file to attach.

## Customers and their tabs.

customer-add = Add customer
customers-search-by = Search by
customers-contains = Contains
customers-search = Search
customers-none = No customers match.
customer-tenant = tenant { $id }
customer-tabs-label = Customer
customer-new-market-note = The billing country is the customer's market: it decides what they can buy and at what price, and it cannot change later.
customer-field-company = Company name
customer-field-domain = Domain (for example contoso.onmicrosoft.com)
customer-field-email = Billing email
customer-field-country = Billing country (two letters, for example US)
customer-field-city = City
customer-field-address = Address
customer-field-postal-code = Postal code
tab-software = Software
tab-orders = Orders
tab-products = Add products
tab-cart = { $lines ->
    [one] Cart (1 line)
   *[other] Cart ({ $lines } lines)
}

## Software: keys and download links.

software-keys-title = Keys and downloads: { $product }
software-activation-key = Activation key:
software-copy-key = Copy key
software-no-key = This product has no activation key.
software-no-files = No files were selected.
software-download = Download
software-copy-link = Copy link
software-link-limits = expires { $expires }, { $left ->
    [one] 1 download left
   *[other] { $left } downloads left
}
software-files-and-keys = Files and keys
software-version = Version
software-any = Any
software-language = Language
software-file-type = File type/OS
software-submit = Submit
software-no-match = No file matches.
software-get-keys = Get keys and downloads
software-links-issued = Links issued
software-no-links = No links issued yet.
software-link-history = issued { $issued } by { $by } · { $used } downloaded, { $left } left · expires { $expires }
software-revoke-confirm = Revoke the link for { $file }? Whoever has it can no longer download; downloads already made stay counted.
software-revoke = Revoke link
software-no-key-cancelled = No key (cancelled)
software-none = Nothing bought yet.
link-status-active = Active
link-status-expired = Expired (14 days)
link-status-used-up = Used up (50 downloads)
link-status-revoked = Revoked
link-revoked-notice = The link for { $file } is revoked: it no longer downloads.

## Orders, products, cart and cancelling.

order-title = Order { $id }
order-heading = Order
order-placed = Order placed:
order-total = Total ({ $currency })
order-see-software = See the Software page
order-all = All orders
orders-placed = Placed { $date } · total { $total }
orders-remaining = { $amount } after cancellations
orders-credit = ; credit { $amount }
orders-none = No orders yet.
tax-included = list prices include { $rate }% tax
tax-added = { $rate }% tax is added to list prices
prices-in = Prices in { $currency }; { $tax }.
products-view = View
products-view-cart = View cart ({ $lines })
products-view-software = All software
products-view-subscriptions = Software subscriptions
products-view-perpetual = Perpetual software
products-view-suse = SUSE Linux
products-view-reservations = Azure reservations
products-add = Add to cart
products-azure-subscription = Azure subscription
products-none = Nothing in this view is offered in the customer's market.
cart-heading = Cart
cart-added = Added to the cart.
cart-quantity-of = Quantity of line { $line }
cart-update = Update
cart-remove = Remove line { $line }
cart-empty = The cart is empty.
cart-tax-per-line = Tax is computed per line, as checkout will charge it.
cart-ordered = This cart has been ordered.
cart-see-orders = See the orders
cart-start-new = start a new cart
cart-check-out = Check out
cart-add-more = Add more products
cancel-heading = Cancel { $product }
cancel-what = Cancelling a line revokes its activation keys and download links at once, and the credit shown goes on the customer's next invoice. It cannot be undone.
cancel-nothing = This customer has no purchase of this product to cancel.
cancel-none-eligible = None of these purchases can be cancelled here.
cancel-order-number = Order number
cancel-line = , line { $line }
cancel-placed = Placed
cancel-amount = Amount
cancel-credit-now = Credit if cancelled now
cancel-no-credit = none
cancel-button = Cancel order { $order } line { $line }
cancel-file-request = File a support request
cancel-back = Back without cancelling
cancel-days-remaining = { $days ->
    [one] 1 day remaining
   *[other] { $days } days remaining
}
cancel-window-closed-on = the cancellation window closed on { $date }
cancel-support-only = cancelled only through a support request
cancellation-days-left = { $days ->
    [one] 1 day left to cancel
   *[other] { $days } days left to cancel
}
cancellation-window-passed = the cancellation window has passed
cancellation-support-only = cancel through a support request
cancellation-not-cancellable = cannot be cancelled
cancellation-cancelled = cancelled
cancellation-cancelled-at = cancelled { $when }
cancelled-line = line { $line } ({ $product }, credit { $credit })
cancelled-notice = Cancelled in order { $order }: { $lines }. Its keys and download links are revoked; the credit goes on the next invoice.

## Activity log.

activity-from = From
activity-to = To
activity-kind = Kind
activity-export = Export CSV
activity-order-note = Newest first. Times are UTC.
activity-who = Who
activity-what = What
activity-details = Details
activity-more = Ids and client
activity-none = No activity of this kind in these dates.
activity-pages = Pages of the activity log
activity-previous = ← Previous (newer)
activity-next = Next (older) →
activity-kind-software = Key views and downloads
activity-kind-all = All activity
activity-kind-create-order = Orders placed
activity-kind-update-order = Orders cancelled
activity-kind-get-software-key = Key views
activity-kind-download-software = Downloads
activity-kind-create-service-request = Support requests filed
activity-kind-update-service-request = Support request updates
activity-kind-create-customer = Customers added

## Billing and invoices.

billing-unbilled = Not invoiced yet
billing-unbilled-note = Charges and credits since the last invoice. They go on the invoice of the month they happened in, issued after that month ends; a cancellation's credit shows here at once.
billing-unbilled-none = Nothing since the last invoice.
billing-charges = Charges
billing-credits = Credits
billing-total-so-far = Total so far
billing-unbilled-more = { $more ->
    [one] The newest { $shown } are shown; 1 earlier one is counted in the totals (the API lists them all):
   *[other] The newest { $shown } are shown; { $more } earlier ones are counted in the totals (the API lists them all):
}
billing-invoices = Invoices
billing-no-invoices = No invoices yet. An invoice is issued after a month ends.
invoice-title = Invoice { $period }
invoice-heading = Invoice { $id }
invoice-summary = { $period } · dated { $date } · { $currency }
invoice-amounts = subtotal { $subtotal }, tax { $tax },
invoice-total = total { $total }
invoice-csv = Download CSV
invoice-order-line = { $order } line { $line }
invoice-refund = refund

## Support.

support-file-heading = File a request
support-topic = Topic
support-impact = Impact
support-title = Title
support-description = Description
support-refund-legend = Refund (for CSP Purchase/Refund; optional: you may write the details in the description instead)
support-customer-id = Customer tenant id
support-customer-domain = or customer domain
support-order-id = Order id
support-subscription-id = or subscription id
support-reason = Reason
support-amount = Amount requested
support-contact = Contact
support-first-name = First name
support-last-name = Last name
support-phone = Phone (optional)
support-files = Add files (optional; up to 10 MiB each)
support-submit = File request
support-more-files = More files can be attached on the request's page once it is filed.
support-requests = Requests
support-filed = Filed
support-none = No requests yet.
support-prefill-title = Cancel order { $order }
support-prefill-description = Please cancel line(s) { $lines } of order { $order }.
support-prefill-reason = Cancellation
request-filed = filed { $date } by { $by }
request-refund = Refund: { $refund }
request-notes = Notes
request-no-notes = No notes yet.
request-add-note-label = Add a note
request-add-note = Add note
request-attachments = Attachments
request-no-attachments = None.
request-file = File (at most 10 MiB)
request-attach = Attach
topic-csp_purchase_refund = CSP Purchase/Refund on behalf of customers
topic-billing = Billing and invoices
topic-orders = Orders and cancellations
topic-keys_and_downloads = Activation keys and downloads
topic-account = Partner account and users
topic-technical = Technical problem

## Settings, users and webhooks.

settings-language = Language
settings-language-label = Show the pages in
settings-language-browser = The browser's language
settings-language-note = Saved for your account; it is used wherever you sign in. The API, CSV files and webhooks stay in English.
settings-new-token = Your new API token (shown once):
settings-tokens = Your API tokens
settings-token-created = created { $date }
settings-token-revoked = created { $date }, revoked
settings-token-revoke-confirm = Revoke the token { $name }? Programs using it stop working at once.
settings-no-tokens = No tokens.
settings-create-token = Create token
settings-webhooks-intro = Send activity records to your systems as they happen, signed:
settings-webhooks-link = manage endpoints and see their deliveries
settings-users = Users and roles
settings-user = User
settings-roles = Roles
settings-change = Change
settings-no-roles = none
settings-user-disabled = Disabled
settings-user-active = Active
settings-change-user = Change { $name }…
settings-user-save-confirm = Save the roles and status of { $name }? Their access changes at once.
settings-roles-of = Roles of { $name }
settings-disabled-check = disabled (cannot sign in or use tokens)
settings-save-user = Save { $name }
settings-role-help = What each role may do
settings-role-help-all = Every role sees customers, their orders and software, the catalog, support requests and its own API tokens.
settings-add-user = Add a user
settings-display-name = Display name
settings-add-user-submit = Add user
role-about-global_admin = Runs the partner account: adds customers, buys for them, reads the activity log and billing, manages users and webhooks.
role-about-admin_agent = Adds customers, buys for them, gets activation keys and download links, and cancels purchases (the only role that may get keys and cancel).
role-about-sales_agent = Adds customers and edits their profiles; sees customers, their orders and software.
role-about-helpdesk_agent = Sees customers, their orders and software, and files support requests.
role-about-account_admin = Reads the activity log, besides what every role sees.
role-about-billing_admin = Reads billing: invoices and what is not invoiced yet.
role-about-referral_admin = Reads the activity log, besides what every role sees.
role-about-marketing_content_admin = Reads the activity log, besides what every role sees.
webhooks-heading = Webhooks
webhooks-intro = Each endpoint receives the activity records it asks for as signed JSON POSTs (header Partnerhub-Signature), retried for up to three days. An endpoint that fails for three days is disabled; a successful test enables it again.
webhooks-secret = The endpoint's signing secret (shown once):
webhooks-endpoints = Endpoints
webhooks-activity = Activity
webhooks-actions = Actions
webhooks-since = since { $date }
webhooks-enabled = enabled
webhooks-disabled = disabled
webhooks-failing-since = failing since { $when }
webhooks-send-test = Send test
webhooks-delete-confirm = Delete the endpoint { $url }? Deliveries still waiting for it are not sent.
webhooks-none = No endpoints.
webhooks-add-heading = Add an endpoint
webhooks-kinds = Activity to receive
webhooks-add = Add endpoint
webhooks-test-delivered = Test event delivered ({ $outcome }).
webhooks-test-failed = Test event not delivered: { $outcome }.
webhook-deliveries = Latest deliveries
webhook-delivery = Delivery
webhook-attempts = Attempts
webhook-next-try = next try { $when }
webhook-none = Nothing delivered yet.
webhook-no-answer = no answer

## A download link's page, for the customer.

link-gone-ask = Your reseller can send you a new link: ask them to issue one for this software.
link-gone-used-up = This download link has been used up
link-gone-used-up-what = Each link allows 50 downloads, and this one has had all of them. Nothing is wrong with your purchase.
link-gone-expired = This download link has expired
link-gone-expired-what = Each link works for 14 days after it is issued, and this one is older. Nothing is wrong with your purchase.
link-gone-limits-what = Each link works for 14 days after it is issued and for up to 50 downloads; this one has reached one of those limits. Nothing is wrong with your purchase.
link-gone-revoked = This download link no longer works
link-gone-revoked-what = Your reseller withdrew it, for example because the purchase it belongs to was cancelled.
link-gone-revoked-next = If you think this is a mistake, contact your reseller.
link-gone-invalid = This download link is not valid
link-gone-invalid-what = The address may be incomplete: check that the whole link was copied.

## Machine names in words (roles, activity kinds, statuses, ledger kinds, impact).

term-global_admin = Global admin
term-admin_agent = Admin agent
term-sales_agent = Sales agent
term-helpdesk_agent = Helpdesk agent
term-account_admin = Account admin
term-billing_admin = Billing admin
term-referral_admin = Referral admin
term-marketing_content_admin = Marketing content admin
term-create_customer = Create customer
term-update_customer = Update customer
term-create_user = Create user
term-update_user = Update user
term-create_api_token = Create API token
term-revoke_api_token = Revoke API token
term-create_order = Create order
term-update_order = Update order
term-get_software_key = Get software key
term-get_software_download_link = Get software download link
term-download_software = Download software
term-revoke_software_download_link = Revoke software download link
term-create_service_request = Create service request
term-update_service_request = Update service request
term-advance_test_clock = Advance test clock
term-create_webhook = Create webhook
term-delete_webhook = Delete webhook
term-webhook_test = Webhook test
term-active = active
term-cancelled = cancelled
term-completed = completed
term-open = Open
term-in_progress = In progress
term-resolved = Resolved
term-closed = Closed
term-pending = Pending
term-succeeded = Succeeded
term-failed = Failed
term-new = New
term-cancel = Cancel
term-refund = Refund
term-critical = Critical
term-moderate = Moderate
term-minimal = Minimal

## An activity record's details.

detail-fileName = File name
detail-version = Version
detail-language = Language
detail-fileType = File type
detail-size = Size
detail-status = Status
detail-roles = Roles
detail-name = Name
detail-email = Email
detail-domain = Domain
detail-country = Country
detail-title = Title
detail-severity = Impact
detail-url = URL
detail-operationTypes = Activity
detail-disabled = Disabled
detail-range = Range
detail-change = Change
detail-days = Days
detail-reason = Reason
detail-amount = Amount
detail-currency = Currency
detail-lineItems = Lines
detail-credits = Credits
detail-expiresAt = Expires
detail-gross = Gross
detail-market = Market
detail-profileVersion = Profile version
detail-seconds = Seconds
detail-sessionsEnded = Sessions ended
detail-tokensRevoked = Tokens revoked
detail-ipAddress = IP address
detail-userAgent = User agent
detail-orderId = Order ID
detail-customerId = Customer ID
detail-softwareItemId = Software item ID
detail-linkId = Link ID
detail-productId = Product ID
detail-serviceRequestId = Support request ID
detail-replay = Replay
detail-counted = Counted
detail-customerDomain = Customer domain
detail-subscriptionId = Subscription ID
detail-amountRequested = Amount requested
detail-currencyCode = Currency

## console (the operator's pages under /operator)
console-brand = Partnerhub Operator
console-nav-home = Overview
console-nav-partners = Partners
console-nav-catalog = Catalog
console-nav-keys = Key stock
console-nav-files = Files
console-nav-desk = Support desk
console-nav-billing = Billing
console-nav-activity = Operator log
console-back = Back to the overview
console-login-heading = Operator sign-in
console-login-intro = For the publisher's own staff. Partners sign in at the dashboard.
console-home-heading = Welcome, { $name }
console-home-partners = partners
console-home-open-requests = open support requests
console-partners-search = Name contains
console-col-kind = Kind
console-col-created = Created
console-partner-sandbox = Sandbox
console-partner-live = Live
console-partners-none = No partners yet.
console-partner-new = Onboard a partner
console-partner-sandbox-label = Sandbox (its own test clock)
console-partner-clock-start = Sandbox clock starts on
console-partner-create = Create partner
console-partner-clock = clock at { $now }
console-clock-days = Days
console-clock-advance = Move the test clock forward
console-partner-users = Users and roles
console-col-roles = Roles
console-col-tokens = API tokens
console-disabled = disabled
console-token-revoke = Revoke
console-token-revoke-label = Revoke token { $name }
console-tokens-none = none
console-users-none = No users yet.
console-user-new = Add a user
console-user-password-hint = Optional: without a password the user signs in only after one is set; 12 characters at least.
console-user-add = Add user
console-partner-invoices = Invoices
console-col-month = Month
console-col-currency = Currency
console-col-total = Total
console-invoices-none = No invoices issued.
console-read-only = read-only
console-col-order = Order
console-col-placed = Placed
console-col-items = Items
console-orders-none = No orders.
console-col-status = Status
console-filter-any = Any
console-col-topic = Topic
console-col-partner = Partner
console-filter = Filter
console-col-request = Request
console-desk-none = No requests match.
console-desk-done-answer = Your answer was saved.
console-desk-done-refund = The refund was granted; it is a credit on the partner's next invoice.
console-desk-done-cancel = The lines were cancelled and credited.
console-desk-publisher-note = publisher
console-desk-answer = Answer
console-desk-status = Status
console-desk-status-keep = Keep as it is
console-desk-send = Save answer
console-desk-order = The order in question
console-desk-left = left to credit: { $left }
console-col-line = Line
console-col-charged = Charged
console-col-left = Left to credit
console-refund-heading = Grant a refund
console-refund-amount = Amount ({ $currency }, tax included)
console-refund-whole-order = The whole order (spread over its lines)
console-refund-review = Review refund
console-cancel-heading = Cancel lines
console-cancel-intro = Cancels whatever the line's policy (for example extended security updates) and credits what is left on each line.
console-cancel-lines = Lines (none checked: the whole order)
console-cancel-review = Review cancellation
console-refund-confirm-line = Grant a refund of { $amount } on line { $line }? It becomes a credit on the partner's next invoice.
console-refund-confirm-order = Grant a refund of { $amount } on the whole order? It becomes a credit on the partner's next invoice.
console-cancel-all-lines = every line
console-cancel-confirm = Cancel { $lines } of order { $order }? Keys and download links are revoked and what is left is credited.
console-desk-back = Back to the request
console-confirm = Confirm
console-go-back = Go back
console-billing-issued = { $count ->
    [one] One invoice was issued.
   *[other] { $count } invoices were issued.
}
console-billing-month = Month (YYYY-MM)
console-billing-show = Show
console-billing-readiness = Partners' clocks for { $month }
console-col-clock = Clock
console-col-due = Month ended?
console-billing-ended = Ended: will be invoiced
console-billing-not-ended = Not yet
console-billing-run-intro = Issues { $month }'s invoices for every partner whose clock has passed its end. Running it again issues nothing twice.
console-billing-run = Run invoices for { $month }
console-billing-issued-heading = Invoices issued for { $month }
console-operators = Operator users
console-enabled = active
console-enable = Enable
console-disable = Disable
console-enable-label = Enable { $email }
console-disable-label = Disable { $email }
console-operator-new = Add an operator user
console-operator-add = Add operator user
console-account = My account
console-password-changed = Your password was changed.
console-token-revoked = The token was revoked.
console-token-issued = Your new token, shown this once: copy it now.
console-token-name = Token name
console-token-create = Create API token
console-password = Password
console-password-current = Current password
console-password-new = New password (12 characters at least)
console-password-change = Change password
console-chain-valid = The log's hash chain verifies: { $count } records, none altered or removed.
console-chain-invalid = The log's hash chain does NOT verify: a record was altered or removed.
console-col-who = Who
console-col-operation = Operation
console-col-details = Details
console-log-empty = Nothing recorded yet.
term-operator_admin = Operator admin
term-catalog_manager = Catalog manager
term-support_agent = Support agent
term-billing_operator = Billing operator
term-create_operator = Operator user added
term-update_operator = Operator user changed
term-create_operator_token = Operator token issued
term-revoke_operator_token = Operator token revoked
term-create_partner = Partner onboarded
term-create_partner_user = Partner user added
term-create_partner_token = Partner token issued
term-revoke_partner_token = Partner token revoked
term-advance_partner_clock = Sandbox clock moved
term-import_catalog = Catalog imported
term-update_market = Market changed
term-update_availability = Availability changed
term-import_keys = Keys imported
term-set_key_threshold = Low-stock threshold set
term-key_stock_low = Key stock low
term-upload_file = File uploaded
term-withdraw_file = File withdrawn
term-answer_service_request = Request answered
term-grant_refund = Refund granted
term-cancel_from_desk = Cancelled from the desk
term-run_invoices = Invoices run
term-create_price_list = Price list created
term-add_price_list_version = Price list version added
term-schedule_price_list_version = Price list version scheduled
term-assign_price_list = Price list assigned
term-set_credit_limit = Credit limit set
term-sign_in = Signed in

## economics
col-customer-price = Customer price
col-your-cost = Your cost
col-margin = Margin
prices-heading = Customer prices
prices-intro = What your customers pay: a markup on your cost or on the list price, for everything, a product type, a product or a customer. The most specific rule in effect wins; a customer's own price (set through the API) wins over every rule. Orders keep the price they were placed at.
prices-rules = Markup rules
prices-applies-to = Applies to
prices-basis = On
prices-basis-cost = your cost
prices-basis-list = the list price
prices-markup = Markup
prices-from = From
prices-percent = +{ $percent }%
prices-everything = Everything
prices-for-customer = customer { $customer }
prices-for-product = product { $product }
prices-none = No rules: your customers pay the list price.
prices-delete-confirm = Delete this rule? Orders already placed keep their prices.
prices-add-heading = Add a rule
prices-kind = Markup as
prices-kind-percent = a percentage
prices-kind-amount = a fixed amount per unit
prices-value = Percentage or amount
prices-currency = Currency of an amount
prices-product-type = Product type
prices-any = Any
prices-product = Product ID
prices-customer = Customer (tenant ID)
prices-add = Add rule
settings-prices-intro = Markups that set what your customers pay.
settings-prices-link = Customer prices
term-software_subscription = Software subscription
term-perpetual_software = Perpetual software
term-extended_security_update = Extended security update
term-software_plan = Software plan
term-azure_reservation = Azure reservation

problem-credit-limit = This order would take you past your credit limit: { $left } is left. Nothing was ordered.
billing-credit-limit = Credit limit
billing-credit-limit-note = Your unbilled charges and unpaid invoices count against it; an order past it is refused.
billing-credit-used = Used
billing-credit-left = Room left
tab-statement = Statement
statement-title = Statement
statement-heading = { $customer }: statement for { $period }
statement-month = Month
statement-csv = Download CSV
statement-note = At your customer's prices: charges, credits and refunds of the month, with tax as the market says. The CSV adds your unit cost beside each unit price.
statement-none = Nothing this month.
statement-total = Total ({ $currency })

## console: price lists and credit limits (issue 23)
console-nav-pricelists = Price lists
console-pricelists-intro = What partners pay: a rule on the list price or explicit costs, effective from a date. A partner follows its assigned list, else the default one; an order keeps the cost it was placed at.
console-pricelists-none = No price lists yet: partners pay list prices.
console-pricelist-versions = Versions
console-pricelist-active = In effect now
console-pricelist-active-since = version { $number } since { $date }
console-pricelist-not-yet = No version in effect yet
console-pricelist-default = default
console-pricelist-new = New price list
console-pricelist-default-label = The default list (for partners without one of their own)
console-pricelist-create = Create price list
console-pricelist-version = Version
console-pricelist-effective = Effective from
console-pricelist-discount = Off the list price (%)
console-pricelist-prices = Explicit prices
console-pricelist-schedule-label = New date for version { $number }
console-pricelist-schedule = Schedule
console-pricelist-no-versions = No versions yet.
console-pricelist-add-version = Add a version
console-pricelist-version-intro = Without a date the version is a draft. An explicit price wins over the percentage for its SKU and market.
console-pricelist-csv = Explicit prices (CSV with a header)
console-pricelist-csv-header = productId,skuId,country,currencyCode,cost
console-pricelist-add = Add version
console-partner-pricing = Pricing and credit
console-pricelist-followed = Price list
console-pricelist-none-followed = None: the partner pays list prices.
console-pricelist-assign-label = Follow
console-pricelist-assign = Assign
console-credit-heading = Credit limit
console-credit-limit = Limit
console-credit-used = Used (unbilled and unpaid)
console-credit-left = Left
console-credit-none = No limit.
console-credit-amount = New limit
console-credit-hint = Leave the amount empty to remove the limit.
console-credit-set = Set limit
term-draft = draft
term-scheduled = scheduled
term-superseded = superseded
