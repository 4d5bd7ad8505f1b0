//! `partnerhub demo`: a partner with a user per role and customers in several markets, on SQLite in
//! `./partnerhub-demo` (created when missing, reused when present, never wiped).

use crate::config::Settings;
use base64::Engine;
use domain::customer::{Address, BillingDraft, CustomerDraft};
use domain::role::Role;
use rand::RngCore;
use services::users::UserDraft;
use services::Services;
use std::path::Path;

const DIR: &str = "./partnerhub-demo";
const PARTNER: &str = "Contoso Reseller (demo)";
const DOMAIN: &str = "contoso-reseller.example";
/// Demo users share one password; it is printed, and the data is for trying the product only.
const PASSWORD: &str = "partnerhub-demo-password";

pub async fn run(listen: &str, no_serve: bool, limits: &crate::config::LimitOptions) -> anyhow::Result<()> {
    let dir = Path::new(DIR);
    std::fs::create_dir_all(dir)?;
    let publisher_token = read_or_create(&dir.join("publisher-token"), || {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        format!("pub_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
    })?;
    let settings = Settings {
        listen: listen.to_string(),
        database_url: format!("sqlite://{DIR}/partnerhub.db"),
        data_dir: dir.to_path_buf(),
        blob_store: services::blobs::BlobLocation::File(dir.join("blobs")),
        publisher_token: Some(publisher_token.clone()),
        base_url: format!("http://{listen}"),
        secret_key: None,
        // A demo on this machine may post to a receiver on this machine.
        allow_insecure_webhooks: true,
        operator_webhook: None,
        limits: crate::config::limits(Some(limits), &Default::default())?,
    };
    let services = crate::server::open_services(&settings).await?;
    // The catalog is upserted on every run (so a demo folder picks up a newer demo catalog); the rest once.
    let counts = services
        .import_catalog(&services.operator_on_this_machine(), demo_catalog().to_string().as_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin_token = seed(&services, dir).await?;
    ensure_operators(&services).await?;

    println!("Partnerhub demo — data in {DIR} (kept between runs; delete the folder to start again)");
    println!();
    println!("  Dashboard:        http://{listen}/  (sign in with a user below)");
    println!("  API:              http://{listen}/v1/customers");
    println!(
        "  Catalog:          {} products, {} SKUs, {} prices (US, AU, BR, JP, GB, GL)",
        counts.products, counts.skus, counts.prices
    );
    println!("  API document:     http://{listen}/v1/openapi.json");
    println!("  Publisher token:  {publisher_token}");
    println!("  API token (all-roles user): {admin_token}");
    println!();
    println!("  Sign in as any of these users, password: {PASSWORD}");
    for role in Role::ALL {
        println!("    {:<26} {}", role.as_str(), email_for(role.as_str()));
    }
    println!("    {:<26} {}", "all roles", email_for("admin"));
    println!();
    println!("  Operator console: http://{listen}/operator  (password: {PASSWORD})");
    for (who, _) in OPERATORS {
        println!("    {:<26} {}", who, operator_email(who));
    }
    println!();
    println!("  Try: curl -H 'Authorization: Bearer {admin_token}' http://{listen}/v1/customers");
    println!();
    if no_serve {
        return Ok(());
    }
    crate::server::serve_with(settings).await
}

/// The demo's operator users: an admin and one per narrower operator role.
const OPERATORS: [(&str, &str); 4] = [
    ("operator_admin", "operator_admin"),
    ("catalog_manager", "catalog_manager"),
    ("support_agent", "support_agent"),
    ("billing_operator", "billing_operator"),
];

fn operator_email(who: &str) -> String {
    format!("{}@publisher.example", who.replace('_', "."))
}

/// Creates the demo's operator users unless they are there (a demo folder from before the console gets them too).
async fn ensure_operators(services: &Services) -> anyhow::Result<()> {
    for (who, role) in OPERATORS {
        let draft = services::operators::OperatorDraft {
            email: operator_email(who),
            display_name: format!("Demo {}", who.replace('_', " ")),
            roles: vec![role.to_string()],
            password: Some(PASSWORD.into()),
        };
        match services.create_operator(&services.operator_on_this_machine(), draft, None).await {
            Ok(_) => {}
            Err(services::Error::Domain(domain::DomainError::Conflict(_))) => {}
            Err(e) => anyhow::bail!("{e}"),
        }
    }
    Ok(())
}

fn email_for(who: &str) -> String {
    format!("{}@{DOMAIN}", who.replace('_', "."))
}

fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    if let Ok(s) = std::fs::read_to_string(path) {
        return Ok(s.trim().to_string());
    }
    let value = make();
    std::fs::write(path, &value)?;
    Ok(value)
}

/// Creates the demo data once; returns the all-roles user's API token (kept in the demo folder).
async fn seed(services: &Services, dir: &Path) -> anyhow::Result<String> {
    let token_file = dir.join("demo-api-token");
    if let Some(existing) = services.list_partners().await?.into_iter().find(|p| p.name == PARTNER) {
        if let Ok(t) = std::fs::read_to_string(&token_file) {
            return Ok(t.trim().to_string());
        }
        anyhow::bail!("{DIR} holds partner {} but lost its token file; delete {DIR} to start again", existing.id);
    }
    let err = |e: services::Error| anyhow::anyhow!("{e}");
    // The sandbox's clock starts early last month, so that the demo can show last month's invoice; it is moved to
    // today once that month's story is told.
    let today = services.now();
    let start = last_month_start(today);
    let partner = services
        .create_partner(&services.operator_on_this_machine(), PARTNER, true, Some(&start.to_rfc3339()), None)
        .await
        .map_err(err)?;
    let pid = partner.id;
    let mut all_roles_user = None;
    for (who, roles) in Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), vec![r.as_str().to_string()]))
        .chain([("admin".to_string(), Role::ALL.iter().map(|r| r.as_str().to_string()).collect())])
    {
        let draft = UserDraft {
            email: email_for(&who),
            display_name: format!("Demo {}", who.replace('_', " ")),
            roles,
            password: Some(PASSWORD.into()),
        };
        let user = services
            .publisher_create_user(&services.operator_on_this_machine(), pid, draft, None)
            .await
            .map_err(err)?;
        if who == "admin" {
            all_roles_user = Some(user);
        }
    }
    let admin = all_roles_user.ok_or_else(|| anyhow::anyhow!("the all-roles user was not created"))?;
    let token = services
        .publisher_create_token(&services.operator_on_this_machine(), pid, admin.id, "demo", None)
        .await
        .map_err(err)?;
    std::fs::write(&token_file, &token.secret)?;
    let actor = services.act_as(&services.operator_on_this_machine(), partner, admin);
    let mut customers = Vec::new();
    for (name, domain, country, city, street) in [
        ("Fabrikam Inc", "fabrikam.onmicrosoft.com", "US", "Seattle", "1 Microsoft Way"),
        ("Wingtip Toys Pty Ltd", "wingtiptoys.onmicrosoft.com", "AU", "Sydney", "1 George Street"),
        ("Northwind Traders Ltd", "northwind.onmicrosoft.com", "GB", "London", "10 Fleet Street"),
        ("Tailspin Toys KK", "tailspin.onmicrosoft.com", "JP", "Tokyo", "1-1 Marunouchi"),
        ("Adatum Ltda", "adatum.onmicrosoft.com", "BR", "São Paulo", "Avenida Paulista 1000"),
        ("Nuuk Fisheries A/S", "nuukfisheries.onmicrosoft.com", "GL", "Nuuk", "Aqqusinersuaq 1"),
    ] {
        let draft = CustomerDraft {
            tenant_id: None,
            company_name: name.into(),
            domain: domain.into(),
            billing: BillingDraft {
                email: format!("billing@{domain}"),
                company_name: None,
                contact: Default::default(),
                address: Address {
                    country: country.into(),
                    city: city.into(),
                    address_line1: street.into(),
                    ..Default::default()
                },
            },
        };
        let customer = services.create_customer(&actor, draft, None).await.map_err(err)?;
        customers.push(customer);
    }
    // Key stock for every product with keys, then a few orders.
    for product in services
        .market_catalog(domain::market::MarketCode::parse("US").ok_or_else(|| anyhow::anyhow!("US is a market"))?, None)
        .await
        .map_err(err)?
        .products
    {
        if product.product_type.has_keys() {
            for sku in &product.skus {
                let keys = (0..25).map(|_| demo_key()).collect();
                services
                    .add_keys(&services.operator_on_this_machine(), &product.id, &sku.id, keys, None)
                    .await
                    .map_err(err)?;
            }
        }
    }
    upload_demo_files(services).await.map_err(err)?;
    let actor = last_months_invoice(services, actor, &customers[2], today).await.map_err(err)?;
    for (customer, lines) in [
        (&customers[0], vec![("SQL2019STD", "1Y", 2), ("SLES", "1Y", 1)]),
        (&customers[1], vec![("WINSRV2022DC", "1Y", 1)]),
        (&customers[3], vec![("SQL2019STD-PERP", "PERP", 1)]),
    ] {
        place_order(services, &actor, customer, &lines).await.map_err(err)?;
    }
    Ok(token.secret)
}

/// The first of last month, 09:00 UTC: where the sandbox's clock starts.
fn last_month_start(today: domain::Timestamp) -> domain::Timestamp {
    let this_month = domain::invoice::Period::of(today).first_day();
    // A day before this month's first is in last month.
    let last_month = domain::invoice::Period::of(domain::Timestamp::start_of_day(this_month).plus_micros(-1));
    domain::Timestamp::start_of_day(last_month.first_day()).plus_micros(9 * 3_600_000_000)
}

/// Buys `lines` (product, SKU, quantity) for a customer: a cart, then checkout.
async fn place_order(
    services: &Services,
    actor: &services::Actor,
    customer: &domain::customer::Customer,
    lines: &[(&str, &str, i64)],
) -> services::Result<domain::order::Order> {
    let drafts = lines
        .iter()
        .map(|&(product, sku, quantity)| domain::order::CartLineDraft {
            catalog_item_id: domain::catalog::catalog_item_id(
                product,
                sku,
                &domain::catalog::availability_id(product, sku, customer.market),
            ),
            quantity,
            billing_cycle: "one_time".into(),
            ..Default::default()
        })
        .collect();
    let cart = services.create_cart(actor, customer.tenant_id, drafts, None).await?;
    services.checkout(actor, customer.tenant_id, cart.id, None).await
}

/// Last month on the sandbox's clock, for a newcomer to see an issued invoice with each kind of row: an order (two
/// charges), one line cancelled five days later (a credit), a refund the publisher's desk granted on the other line;
/// then the clock moves to today and last month is invoiced. Returns the actor on the partner as it is now.
async fn last_months_invoice(
    services: &Services,
    actor: services::Actor,
    customer: &domain::customer::Customer,
    today: domain::Timestamp,
) -> services::Result<services::Actor> {
    let order = place_order(services, &actor, customer, &[("SQL2019STD", "1Y", 1), ("WINSRV2022DC", "1Y", 1)]).await?;
    services.advance_test_clock(&actor, 5, 0, None).await?;
    let actor = refreshed(services, actor).await?;
    services.cancel_order(&actor, customer.tenant_id, order.id, Some(vec![0]), None).await?;
    let request = services
        .create_service_request(
            &actor,
            "en-US",
            domain::support::ServiceRequestDraft {
                title: "Refund part of a Windows Server order".into(),
                description: "The customer was charged for a week before the server was delivered.".into(),
                severity: "minimal".into(),
                support_topic_id: domain::support::REFUND_TOPIC_ID.into(),
                contact: None,
                refund: None,
            },
            None,
        )
        .await?;
    let publisher = services.operator_on_this_machine();
    let refund = services::support::RefundGrant {
        amount: "20.00".into(),
        currency_code: order.currency.clone(),
        order_id: Some(order.id.to_string()),
        line_item_number: Some(1),
    };
    let change = services::support::DeskChange {
        status: Some("resolved".into()),
        note: Some("Refunded 20.00 on line 2: the week before delivery.".into()),
        refund: Some(refund),
        cancel: None,
    };
    services.desk_update(&publisher, request.id, change, None).await?;
    // To today (the clock only moves forward, and it started last month), then last month's invoice.
    let behind = today.micros() - services.partner_now(&actor.partner).micros();
    let seconds = (behind / 1_000_000).max(0);
    services.advance_test_clock(&actor, seconds / 86_400, seconds % 86_400, None).await?;
    let actor = refreshed(services, actor).await?;
    let period = domain::invoice::Period::of(last_month_start(today));
    services.run_invoices(&publisher, &period.to_string()).await?;
    Ok(actor)
}

/// The actor again, with the partner as stored now (its clock moved).
async fn refreshed(services: &Services, actor: services::Actor) -> services::Result<services::Actor> {
    let partner = services
        .list_partners()
        .await?
        .into_iter()
        .find(|p| p.id == actor.partner.id)
        .ok_or(domain::DomainError::NotFound)?;
    Ok(services.act_as(&services.operator_on_this_machine(), partner, actor.user))
}

/// Small stand-ins for installation media, so the Software page has versions, languages and file types to offer.
async fn upload_demo_files(services: &Services) -> services::Result<()> {
    use futures::StreamExt;
    let products = [
        ("WINSRV2022DC", "2022"),
        ("WINSRV2022STD", "2022"),
        ("SQL2019STD", "2019"),
        ("SQL2019ENT", "2019"),
        ("SQL2019STD-PERP", "2019"),
    ];
    for (product, version) in products {
        for language in ["en-us", "de-de", "ja-jp"] {
            for (file_type, ext) in [("ISO", "iso"), ("x64", "zip")] {
                let file_name = format!("{product}_{language}_{file_type}.{ext}");
                let text = format!("Partnerhub demo file: {product} {version} {language} {file_type}\n");
                let body: Vec<u8> = text.bytes().cycle().take(256 * 1024).collect();
                let upload = services::downloads::ArtifactUpload {
                    product_id: product.into(),
                    version: version.into(),
                    language: language.into(),
                    file_type: file_type.into(),
                    file_name,
                };
                let stream = futures::stream::once(async move { Ok(bytes::Bytes::from(body)) }).boxed();
                services.upload_artifact(&services.operator_on_this_machine(), upload, stream).await?;
            }
        }
    }
    Ok(())
}

fn demo_key() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKMPQRTVWXY2346789";
    let mut bytes = [0u8; 25];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    chars.chunks(5).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The demo catalog: list prices set in US cents and converted at fixed demo rates (in hundredths) with integer
/// arithmetic, rounded half up to each currency's decimals (whole yen).
fn demo_catalog() -> serde_json::Value {
    // (country, currency, demo rate per USD in hundredths, decimals)
    const MARKETS: [(&str, &str, i64, u8); 6] = [
        ("US", "USD", 100, 2),
        ("AU", "AUD", 155, 2),
        ("BR", "BRL", 520, 2),
        ("JP", "JPY", 15000, 0),
        ("GB", "GBP", 80, 2),
        ("GL", "DKK", 690, 2),
    ];
    let prices = |usd_cents: i64| -> Vec<serde_json::Value> {
        MARKETS
            .iter()
            .map(|(country, currency, rate, decimals)| {
                // cents × rate/100 gives the amount in the target's cents; rescale to its decimals, rounding half up.
                let numerator = usd_cents * rate * 10i64.pow(u32::from(*decimals));
                let denominator = 100 * 100;
                let minor = (numerator + denominator / 2) / denominator;
                let price = domain::money::Money { minor, scale: *decimals };
                serde_json::json!({"country": country, "currencyCode": currency, "listPrice": price.format()})
            })
            .collect()
    };
    let sku = |id: &str, title: &str, term: Option<&str>, usd_cents: i64| {
        let mut s = serde_json::json!({"id": id, "title": title, "prices": prices(usd_cents)});
        if let Some(t) = term {
            s["termDuration"] = serde_json::json!(t);
        }
        s
    };
    let subscription = |id: &str, title: &str, one_year_cents: i64| {
        serde_json::json!({"id": id, "title": title, "publisherName": "Microsoft", "productType": "software_subscription",
            "skus": [sku("1Y", &format!("{title} - 1 year"), Some("P1Y"), one_year_cents),
                     sku("3Y", &format!("{title} - 3 years"), Some("P3Y"), one_year_cents * 27 / 10)]})
    };
    serde_json::json!({"products": [
        subscription("WINSRV2022DC", "Windows Server 2022 Datacenter - 16 Core", 617_100),
        subscription("WINSRV2022STD", "Windows Server 2022 Standard - 16 Core", 106_900),
        subscription("WINSRV2019DC", "Windows Server 2019 Datacenter - 16 Core", 615_500),
        subscription("WINSRV2019STD", "Windows Server 2019 Standard - 16 Core", 97_200),
        subscription("SQL2019STD", "SQL Server 2019 Standard - 2 Core", 189_900),
        subscription("SQL2019ENT", "SQL Server 2019 Enterprise - 2 Core", 728_400),
        {"id": "SQL2019STD-PERP", "title": "SQL Server 2019 Standard - 2 Core (perpetual)", "publisherName": "Microsoft",
         "productType": "perpetual_software", "skus": [sku("PERP", "SQL Server 2019 Standard - 2 Core - perpetual", None, 390_000)]},
        {"id": "VM-D2SV3", "title": "Reserved VM Instance, Dsv3 Series, D2s v3", "publisherName": "Microsoft",
         "productType": "azure_reservation",
         "skus": [sku("1Y", "D2s v3 - 1 year", Some("P1Y"), 70_080), sku("3Y", "D2s v3 - 3 years", Some("P3Y"), 135_300)]},
        {"id": "WIN7ESU2020", "title": "Windows 7 Extended Security Updates 2020", "publisherName": "Microsoft",
         "productType": "extended_security_update", "skus": [sku("1Y", "Windows 7 ESU 2020 - 1 year", Some("P1Y"), 5_000)]},
        {"id": "SLES", "title": "SUSE Linux Enterprise Server", "publisherName": "SUSE", "productType": "software_plan",
         "skus": [sku("1Y", "SUSE Linux Enterprise Server - 1 year", Some("P1Y"), 79_900)]},
        {"id": "RHEL", "title": "Red Hat Enterprise Linux", "publisherName": "Red Hat", "productType": "software_plan",
         "skus": [sku("1Y", "Red Hat Enterprise Linux Server - 1 year", Some("P1Y"), 34_900)]}
    ]})
}
