//! First start: the identity domain `Default`, project `admin`, user `admin` (role `admin`) and
//! the instance `default`, created once in one transaction. The admin password comes from
//! `APIGW_ADMIN_PASSWORD` or is generated and printed once.

use apigw_admin::identity::password;
use apigw_domain::generate::new_secret_hex;
use apigw_domain::identity::Password;
use apigw_store::{BootstrapAdmin, BootstrapOutcome, Store};

/// Creates the first objects if the store is fresh, and says so: a log event, and a banner
/// for the person starting the server (how to log in). The banner goes to stderr beside text
/// logs; with JSON logs (`json_logs`) to stdout, so stderr stays one JSON object per line.
pub async fn run(store: &dyn Store, public_url: &str, json_logs: bool) -> anyhow::Result<()> {
    let (password, generated) = match std::env::var("APIGW_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            Password::parse(&p).map_err(|_| {
                anyhow::anyhow!("APIGW_ADMIN_PASSWORD must be 8 to 128 characters long")
            })?;
            (p, false)
        }
        _ => (new_secret_hex(12), true),
    };
    let hash = password::hash_async(password.clone()).await;
    match store
        .bootstrap(BootstrapAdmin {
            password_hash: hash,
        })
        .await?
    {
        BootstrapOutcome::AlreadyDone => {
            tracing::info!("existing installation found; first-start setup skipped");
        }
        BootstrapOutcome::Created {
            project_id,
            user_id,
            instance_id,
        } => {
            tracing::info!(
                %project_id, %user_id, %instance_id,
                "first start: created domain Default, project admin, user admin (role admin) and instance default"
            );
            let shown = if generated {
                format!("generated password: {password}   (shown once; set APIGW_ADMIN_PASSWORD to choose it)")
            } else {
                "password: the value of APIGW_ADMIN_PASSWORD".to_owned()
            };
            let banner = format!(
                "\n  apigw first start\n  user: admin   domain: Default   project: admin ({project_id})\n  {shown}\n  default instance: {instance_id}\n  get a token:\n    curl -si -X POST {public_url}/v3/auth/tokens -H 'Content-Type: application/json' \\\n      -d '{{\"auth\":{{\"identity\":{{\"methods\":[\"password\"],\"password\":{{\"user\":{{\"name\":\"admin\",\"password\":\"<password>\",\"domain\":{{\"name\":\"Default\"}}}}}}}},\"scope\":{{\"project\":{{\"name\":\"admin\",\"domain\":{{\"name\":\"Default\"}}}}}}}}}}' \\\n      | grep -i x-subject-token\n"
            );
            if json_logs {
                println!("{banner}");
            } else {
                eprintln!("{banner}");
            }
        }
    }
    Ok(())
}
