//! `partnerhub demo`: a partner with a user per role and customers in several markets, on SQLite in
//! `./partnerhub-demo` (created when missing, reused when present, never wiped).

use crate::config::Settings;
use base64::Engine;
use domain::customer::{Address, CustomerDraft};
use domain::role::Role;
use rand::RngCore;
use services::users::UserDraft;
use services::{Actor, Services};
use std::path::Path;

const DIR: &str = "./partnerhub-demo";
const PARTNER: &str = "Contoso Reseller (demo)";
const DOMAIN: &str = "contoso-reseller.example";
/// Demo users share one password; it is printed, and the data is for trying the product only.
const PASSWORD: &str = "partnerhub-demo-password";

pub async fn run(listen: &str, no_serve: bool) -> anyhow::Result<()> {
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
        publisher_token: Some(publisher_token.clone()),
        base_url: format!("http://{listen}"),
        secret_key: None,
    };
    let services = crate::open_services(&settings).await?;
    let admin_token = seed(&services, dir).await?;

    println!("Partnerhub demo — data in {DIR} (kept between runs; delete the folder to start again)");
    println!();
    println!("  API:              http://{listen}/v1/customers");
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
    println!("  Try: curl -H 'Authorization: Bearer {admin_token}' http://{listen}/v1/customers");
    println!();
    if no_serve {
        return Ok(());
    }
    crate::serve_with(settings).await
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
    let partner = services.create_partner(PARTNER, true, None, None).await.map_err(err)?;
    let pid = partner.id.to_string();
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
        let user = services.publisher_create_user(&pid, draft, None).await.map_err(err)?;
        if who == "admin" {
            all_roles_user = Some(user);
        }
    }
    let admin = all_roles_user.expect("the all-roles user is created above");
    let token = services.publisher_create_token(&pid, &admin.id.to_string(), "demo", None).await.map_err(err)?;
    std::fs::write(&token_file, &token.secret)?;
    let actor = Actor::new(partner, admin, None);
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
            billing_email: format!("billing@{domain}"),
            billing_company_name: None,
            address: Address {
                country: country.into(),
                city: city.into(),
                address_line1: street.into(),
                ..Default::default()
            },
        };
        services.create_customer(&actor, draft, None).await.map_err(err)?;
    }
    Ok(token.secret)
}
