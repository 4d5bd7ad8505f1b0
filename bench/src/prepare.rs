//! `prepare`: a bench catalog, partners with an all-roles user and API token each, customers, and key stock,
//! made in-process through the product's own services (the same code the API and the CLI call).

use crate::util::{err, open_services, Setup, SetupPartner};
use anyhow::Context;
use domain::customer::{Address, BillingDraft, CustomerDraft};
use domain::role::Role;
use services::users::UserDraft;
use std::path::Path;

pub const PRODUCT: &str = "BENCHSW";
pub const SKU: &str = "1Y";

/// One software subscription with activation keys and files, priced in the US market.
pub fn catalog() -> serde_json::Value {
    serde_json::json!({"products": [{
        "id": PRODUCT, "title": "Bench Software - 2 Core", "publisherName": "Partnerhub bench",
        "productType": "software_subscription",
        "skus": [{"id": SKU, "title": "Bench Software - 1 year", "termDuration": "P1Y",
                  "prices": [{"country": "US", "currencyCode": "USD", "listPrice": "1899.00"}]}]
    }]})
}

pub struct Options<'a> {
    pub database_url: &'a str,
    pub data_dir: &'a Path,
    pub partners: usize,
    pub customers_per_partner: usize,
    pub keys: usize,
    pub out: &'a Path,
}

pub async fn run(o: Options<'_>) -> anyhow::Result<()> {
    let services = open_services(o.database_url, o.data_dir).await?;
    services
        .import_catalog(&services.operator_on_this_machine(), catalog().to_string().as_bytes())
        .await
        .map_err(err)?;
    let mut partners = Vec::new();
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    for p in 0..o.partners {
        let partner = services
            .create_partner(&services.operator_on_this_machine(), &format!("Bench Reseller {p}"), false, None, None)
            .await
            .map_err(err)?;
        let pid = partner.id.to_string();
        let draft = UserDraft {
            email: format!("admin{p}.{}@bench.example", &run_id[..12]),
            display_name: format!("Bench admin {p}"),
            roles: Role::ALL.iter().map(|r| r.as_str().to_string()).collect(),
            password: None,
        };
        let user = services
            .publisher_create_user(&services.operator_on_this_machine(), partner.id, draft, None)
            .await
            .map_err(err)?;
        let token = services
            .publisher_create_token(&services.operator_on_this_machine(), partner.id, user.id, "bench", None)
            .await
            .map_err(err)?;
        let actor = services.act_as(&services.operator_on_this_machine(), partner.clone(), user.clone());
        let mut customers = Vec::new();
        for c in 0..o.customers_per_partner {
            let domain = format!("bench{p}x{c}.onmicrosoft.com");
            let draft = CustomerDraft {
                tenant_id: None,
                company_name: format!("Bench Customer {p}-{c}"),
                domain: domain.clone(),
                billing: BillingDraft {
                    email: format!("billing@{domain}"),
                    company_name: None,
                    contact: Default::default(),
                    address: Address {
                        country: "US".into(),
                        city: "Seattle".into(),
                        address_line1: "1 Bench Way".into(),
                        ..Default::default()
                    },
                },
            };
            let customer = services.create_customer(&actor, draft, None).await.map_err(err)?;
            customers.push(customer.tenant_id.to_string());
        }
        partners.push(SetupPartner { id: pid, user_id: user.id.to_string(), token: token.secret, customers });
    }
    let mut added = 0;
    while added < o.keys {
        let n = (o.keys - added).min(5000);
        let keys = (0..n).map(|_| format!("BENCH-{}", uuid::Uuid::new_v4().simple())).collect();
        services.add_keys(&services.operator_on_this_machine(), PRODUCT, SKU, keys, None).await.map_err(err)?;
        added += n;
    }
    let market = domain::market::MarketCode::parse("US").context("US is a market")?;
    let setup = Setup {
        product_id: PRODUCT.into(),
        sku_id: SKU.into(),
        catalog_item_id: domain::catalog::catalog_item_id(
            PRODUCT,
            SKU,
            &domain::catalog::availability_id(PRODUCT, SKU, market),
        ),
        partners,
    };
    std::fs::write(o.out, serde_json::to_vec_pretty(&setup)?)?;
    eprintln!(
        "prepared {} partners, {} customers each, {} keys for {PRODUCT}:{SKU} in {}",
        o.partners, o.customers_per_partner, o.keys, o.database_url
    );
    Ok(())
}
